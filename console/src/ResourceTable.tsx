/** A resource list as the EC2 console's: a header with count, refresh and actions, a text filter, sorting, paging, preferences (page size, columns), one selection. */
import { useCallback, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Header from '@cloudscape-design/components/header';
import Modal from '@cloudscape-design/components/modal';
import type { ModalProps } from '@cloudscape-design/components/modal';
import Pagination from '@cloudscape-design/components/pagination';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import type { TableProps } from '@cloudscape-design/components/table';
import TextFilter from '@cloudscape-design/components/text-filter';
import { useCollection } from '@cloudscape-design/collection-hooks';
import { useFlash } from './flash';
import { useTablePreferences } from './preferences';

export interface ResourceTableProps<T> {
  title: string;
  /** What a row is called in the filter's placeholder and the selection labels. */
  noun: string;
  trackBy: keyof T & string;
  load: () => Promise<T[]>;
  columns: TableProps.ColumnDefinition<T>[];
  empty: ReactNode;
  /** The header's buttons, given the selected row and a reload. */
  actions?: (selected: T | undefined, reload: () => Promise<void>) => ReactNode;
  /** Poll every 2 s while this holds for some row. */
  busy?: (item: T) => boolean;
  /** What shows under the table for the selected row (a detail), given a reload of the table. */
  below?: (selected: T, reload: () => Promise<void>) => ReactNode;
  /** Columns hidden until turned on in the table's preferences. */
  hidden?: string[];
}

export function ResourceTable<T>({ title, noun, trackBy, load, columns, empty, actions, busy, below, hidden }: ResourceTableProps<T>) {
  const flash = useFlash();
  const [rows, setRows] = useState<T[]>([]);
  const [loading, setLoading] = useState(true);
  const reload = useCallback(async () => {
    try {
      setRows(await load());
    } catch (err) {
      flash.error(err);
    } finally {
      setLoading(false);
    }
  }, [load]);
  useEffect(() => void reload(), [reload]);
  const polling = !!busy && rows.some(busy);
  useEffect(() => {
    if (!polling) return;
    const t = setInterval(() => void reload(), 2000);
    return () => clearInterval(t);
  }, [polling, reload]);
  const prefs = useTablePreferences(title, columns, hidden);
  const { items, collectionProps, filterProps, paginationProps } = useCollection(rows, {
    filtering: { empty: <Box textAlign="center" color="inherit">{empty}</Box>, noMatch: <Box textAlign="center">No {noun}s match.</Box> },
    sorting: {},
    pagination: { pageSize: prefs.pageSize },
    selection: { trackBy },
  });
  // The selection holds the row as it was when clicked; show it as last loaded.
  const selected = rows.find((r) => r[trackBy] === collectionProps.selectedItems?.[0]?.[trackBy]);
  return (
    <SpaceBetween size="l">
      <Table
        {...collectionProps}
        selectionType="single"
        loading={loading}
        loadingText={`Loading ${noun}s`}
        items={items}
        trackBy={trackBy}
        ariaLabels={{ itemSelectionLabel: (_, i) => String(i[trackBy]), selectionGroupLabel: title }}
        header={<Header counter={`(${rows.length})`} actions={<SpaceBetween direction="horizontal" size="xs">
          <Button iconName="refresh" ariaLabel="Refresh" onClick={() => void reload()} />
          {actions?.(selected, reload)}
        </SpaceBetween>}>{title}</Header>}
        filter={<TextFilter {...filterProps} filteringPlaceholder={`Find ${noun} by attribute`} />}
        pagination={<Pagination {...paginationProps} />}
        columnDefinitions={columns}
        columnDisplay={prefs.columnDisplay}
        preferences={prefs.preferences}
      />
      {selected && below?.(selected, reload)}
    </SpaceBetween>
  );
}

/** A dialog with Cancel and one primary action that runs `run`, shows its error, and closes when it succeeds. */
export function ActionModal({ title, action, run, onClose, children, disabled, size = 'medium' }: {
  title: string; action: string; run: () => Promise<string | void>; onClose: (changed: boolean) => void; children: ReactNode; disabled?: boolean;
  size?: ModalProps['size'];
}) {
  const flash = useFlash();
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      const msg = await run();
      if (msg) flash.success(msg);
      onClose(true);
    } catch (err) {
      flash.error(err);
      setBusy(false);
    }
  };
  return (
    <Modal visible header={title} onDismiss={() => onClose(false)} size={size}
      footer={<Box float="right"><SpaceBetween direction="horizontal" size="xs">
        <Button variant="link" onClick={() => onClose(false)}>Cancel</Button>
        <Button variant="primary" loading={busy} disabled={disabled} onClick={() => void go()}>{action}</Button>
      </SpaceBetween></Box>}>
      {children}
    </Modal>
  );
}

/** Confirms a destructive action; shows the API's error and stays open when it fails. */
export function ConfirmModal({ title, action, children, onConfirm, onClose }: {
  title: string; action: string; children: ReactNode; onConfirm: () => Promise<void>; onClose: () => void;
}) {
  return <ActionModal title={title} action={action} run={onConfirm} onClose={onClose}>{children}</ActionModal>;
}
