import '@cloudscape-design/global-styles/index.css';
import { applyMode, Mode } from '@cloudscape-design/global-styles';
import { createRoot } from 'react-dom/client';
import { App } from './App';

applyMode(localStorage.getItem('kiln-console-mode') === 'dark' ? Mode.Dark : Mode.Light);
createRoot(document.getElementById('root')!).render(<App />);
