/** Images > AMIs: the table with the ownership filter, a property filter, sorting, paging, and the AMI actions. */
import { useCallback, useEffect, useMemo, useState } from 'react';
import Button from '@cloudscape-design/components/button';
import ButtonDropdown from '@cloudscape-design/components/button-dropdown';
import Header from '@cloudscape-design/components/header';
import Pagination from '@cloudscape-design/components/pagination';
import PropertyFilter from '@cloudscape-design/components/property-filter';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import Box from '@cloudscape-design/components/box';
import { useCollection } from '@cloudscape-design/collection-hooks';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import type { Image } from '@aws-sdk/client-ec2';
import type { PropertyFilterProps } from '@cloudscape-design/components/property-filter';
import type { TableProps } from '@cloudscape-design/components/table';
import { ec2 } from './api';
import { TAG_PROPERTY, scopeQuery, withTagProperties } from './logic';
import { useTablePreferences } from './preferences';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { navigate } from './router';
import { State, when } from './format';
import { AmiDetail } from './AmiDetail';
import { AmiModals } from './AmiModals';
import type { AmiAction } from './AmiModals';

export const SCOPES = [
  { value: 'owned', label: 'Owned by me' },
  { value: 'private', label: 'Private images' },
  { value: 'public', label: 'Public images' },
  { value: 'disabled', label: 'Disabled images' },
];

const PROPS: PropertyFilterProps.FilteringProperty[] = [
  { key: 'Name', propertyLabel: 'AMI name', groupValuesLabel: 'AMI names', operators: ['=', '!=', ':', '!:'] },
  { key: 'ImageId', propertyLabel: 'AMI ID', groupValuesLabel: 'AMI IDs', operators: ['=', '!=', ':'] },
  { key: 'OwnerId', propertyLabel: 'Owner', groupValuesLabel: 'Owners', operators: ['=', '!='] },
  { key: 'State', propertyLabel: 'Status', groupValuesLabel: 'Statuses', operators: ['=', '!='] },
  { key: 'Architecture', propertyLabel: 'Architecture', groupValuesLabel: 'Architectures', operators: ['=', '!='] },
  { key: 'PlatformDetails', propertyLabel: 'Platform', groupValuesLabel: 'Platforms', operators: ['=', '!=', ':'] },
  { key: 'Description', propertyLabel: 'Description', groupValuesLabel: 'Descriptions', operators: [':', '!:'] },
];

type Row = Image & Record<string, unknown>;

const COLUMNS: TableProps.ColumnDefinition<Row>[] = [
  { id: 'name', header: 'Name', cell: (i) => i.Name ?? '-', sortingField: 'Name' },
  { id: 'id', header: 'AMI ID', cell: (i) => i.ImageId, sortingField: 'ImageId' },
  { id: 'owner', header: 'Owner', cell: (i) => i.ImageOwnerAlias ?? i.OwnerId, sortingField: 'OwnerId' },
  { id: 'visibility', header: 'Visibility', cell: (i) => (i.Public ? 'Public' : 'Private') },
  { id: 'state', header: 'Status', cell: (i) => <State state={i.State} reason={i.StateReason?.Message} />, sortingField: 'State' },
  { id: 'created', header: 'Creation date', cell: (i) => when(i.CreationDate), sortingField: 'CreationDate' },
  { id: 'arch', header: 'Architecture', cell: (i) => i.Architecture, sortingField: 'Architecture' },
  { id: 'platform', header: 'Platform', cell: (i) => i.PlatformDetails ?? '-', sortingField: 'PlatformDetails' },
  { id: 'root', header: 'Root device type', cell: (i) => i.RootDeviceType },
  { id: 'description', header: 'Description', cell: (i) => i.Description ?? '-' },
  { id: 'deprecation', header: 'Deprecation time', cell: (i) => when(i.DeprecationTime), sortingField: 'DeprecationTime' },
  { id: 'tags', header: 'Tags', cell: (i) => (i.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).join(', ') || '-' },
];

export function AmisPage({ session }: PageProps) {
  const flash = useFlash();
  const [scope, setScope] = useState(SCOPES[0]!);
  const [images, setImages] = useState<Image[]>([]);
  const [loading, setLoading] = useState(true);
  const [action, setAction] = useState<AmiAction>();
  const [changes, setChanges] = useState(0);
  const load = useCallback(async () => {
    const q = scopeQuery(scope.value, session.account ?? '');
    try {
      const out = await ec2(session).send(new DescribeImagesCommand(q.input));
      setImages((out.Images ?? []).filter(q.keep));
    } catch (err) {
      flash.error(err);
    } finally {
      setLoading(false);
    }
  }, [scope.value, session]);
  useEffect(() => { setLoading(true); void load(); }, [load]);
  const pending = images.some((i) => i.State === 'pending');
  useEffect(() => {
    if (!pending) return;
    const t = setInterval(() => void load(), 2000);
    return () => clearInterval(t);
  }, [pending, load]);

  const { rows, keys } = useMemo(() => withTagProperties(images), [images]);
  const filteringProperties = useMemo(() => [...PROPS, ...keys.map((k): PropertyFilterProps.FilteringProperty => ({
    key: `${TAG_PROPERTY}${k}`, propertyLabel: `Tag: ${k}`, groupValuesLabel: `${k} values`, operators: ['=', '!=', ':'], group: 'tags',
  }))], [keys]);
  const prefs = useTablePreferences('amis', COLUMNS, ['description', 'deprecation', 'tags']);
  const { items, collectionProps, propertyFilterProps, paginationProps, filteredItemsCount } = useCollection(rows, {
    propertyFiltering: {
      filteringProperties,
      empty: <Empty scope={scope.label} />,
      noMatch: <Box textAlign="center">No AMIs match the filter.</Box>,
    },
    sorting: { defaultState: { sortingColumn: { sortingField: 'CreationDate' }, isDescending: true } },
    pagination: { pageSize: prefs.pageSize },
    selection: { trackBy: 'ImageId' },
  });
  // The selection holds the row as it was when clicked; show it as last loaded.
  const selected = images.find((i) => i.ImageId === collectionProps.selectedItems?.[0]?.ImageId);
  return (
    <SpaceBetween size="l">
      <Table
        {...collectionProps}
        selectionType="single"
        loading={loading}
        loadingText="Loading AMIs"
        items={items}
        trackBy="ImageId"
        ariaLabels={{ itemSelectionLabel: (_, i) => i.Name ?? i.ImageId ?? '', selectionGroupLabel: 'AMIs' }}
        header={
          <Header
            counter={`(${images.length})`}
            actions={
              <SpaceBetween direction="horizontal" size="xs">
                <Button iconName="refresh" ariaLabel="Refresh" onClick={() => void load()} />
                <ButtonDropdown
                  disabled={!selected}
                  items={[
                    { id: 'permissions', text: 'Edit AMI permissions' },
                    { id: 'copy', text: 'Copy AMI' },
                    { id: 'tags', text: 'Manage tags' },
                    { id: 'deprecation', text: 'Manage AMI deprecation' },
                    { id: 'disable', text: selected?.State === 'disabled' ? 'Re-enable AMI' : 'Disable AMI' },
                    { id: 'protection', text: 'Manage deregistration protection' },
                    { id: 'deregister', text: 'Deregister AMI' },
                  ]}
                  onItemClick={(e) => setAction(e.detail.id as AmiAction)}
                >Actions</ButtonDropdown>
                <Button variant="primary" disabled={!selected || selected.State !== 'available'}
                  onClick={() => navigate(`/launch?ami=${selected!.ImageId}`)}>Launch instance from AMI</Button>
              </SpaceBetween>
            }
          >Amazon Machine Images (AMIs)</Header>
        }
        filter={
          <SpaceBetween direction="horizontal" size="xs">
            <Select selectedOption={scope} options={SCOPES} onChange={(e) => setScope(e.detail.selectedOption as typeof scope)} ariaLabel="Ownership" />
            <div style={{ minWidth: 420 }}>
              <PropertyFilter {...propertyFilterProps} countText={`${filteredItemsCount ?? 0} ${filteredItemsCount === 1 ? "match" : "matches"}`} filteringPlaceholder="Find AMI by attribute or tag"
                customGroupsText={[{ group: 'tags', properties: 'Tags', values: 'Tag values' }]} />
            </div>
          </SpaceBetween>
        }
        pagination={<Pagination {...paginationProps} />}
        columnDefinitions={COLUMNS}
        columnDisplay={prefs.columnDisplay}
        preferences={prefs.preferences}
      />
      {selected && <AmiDetail session={session} image={selected} key={`${selected.ImageId}/${changes}`} />}
      {action && selected && (
        <AmiModals session={session} action={action} image={selected}
          onClose={(changed) => { setAction(undefined); if (changed) { setChanges((c) => c + 1); void load(); } }} />
      )}
    </SpaceBetween>
  );
}

function Empty({ scope }: { scope: string }) {
  return (
    <Box textAlign="center" color="inherit">
      <b>No AMIs</b>
      <Box variant="p" color="inherit">
        {scope === 'Owned by me'
          ? 'You have no AMIs here. Create one from an instance: Instances > Actions > Image and templates > Create image.'
          : `No ${scope.toLowerCase()} in this region.`}
      </Box>
    </Box>
  );
}
