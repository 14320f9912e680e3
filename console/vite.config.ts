import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The web console, bundled into dist-console/ at the package root; `kiln serve` serves it at /.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: '../dist-console',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4096,
  },
});
