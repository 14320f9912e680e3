/**
 * A table's preferences, as every AWS console table has them (the gear at its top right): page size, and which
 * columns show in what order. Kept per table in localStorage.
 */
import { useState } from 'react';
import CollectionPreferences from '@cloudscape-design/components/collection-preferences';
import type { CollectionPreferencesProps } from '@cloudscape-design/components/collection-preferences';
import type { TableProps } from '@cloudscape-design/components/table';

export interface TablePrefs { pageSize: number; columns: TableProps.ColumnDisplayProperties[] }

export function useTablePreferences<T>(table: string, columns: TableProps.ColumnDefinition<T>[], hidden: string[] = []) {
  const key = `kiln-console-table-${table}`;
  const defaults: TablePrefs = { pageSize: 20, columns: columns.map((c) => ({ id: c.id!, visible: !hidden.includes(c.id!) })) };
  const [prefs, setPrefs] = useState<TablePrefs>(() => {
    try {
      const stored = JSON.parse(localStorage.getItem(key) ?? 'null') as TablePrefs | null;
      if (!stored) return defaults;
      // Columns added since the preferences were saved show at the end.
      const known = stored.columns.filter((c) => columns.some((d) => d.id === c.id));
      return { pageSize: stored.pageSize || 20, columns: [...known, ...defaults.columns.filter((c) => !known.some((k) => k.id === c.id))] };
    } catch {
      return defaults;
    }
  });
  const save = (p: TablePrefs) => { localStorage.setItem(key, JSON.stringify(p)); setPrefs(p); };
  const element = (
    <CollectionPreferences
      title="Preferences" confirmLabel="Confirm" cancelLabel="Cancel"
      preferences={{ pageSize: prefs.pageSize, contentDisplay: prefs.columns }}
      pageSizePreference={{ title: 'Page size', options: [10, 20, 50, 100].map((value) => ({ value, label: `${value} resources` })) }}
      contentDisplayPreference={{
        title: 'Select visible columns',
        options: columns.map((c) => ({ id: c.id!, label: typeof c.header === 'string' ? c.header : c.id!, alwaysVisible: c.id === columns[0]?.id })),
      }}
      onConfirm={(e: { detail: CollectionPreferencesProps.Preferences }) => save({
        pageSize: e.detail.pageSize ?? prefs.pageSize, columns: [...(e.detail.contentDisplay ?? prefs.columns)],
      })}
    />
  );
  return { pageSize: prefs.pageSize, columnDisplay: prefs.columns, preferences: element };
}
