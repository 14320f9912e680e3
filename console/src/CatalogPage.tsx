/** AMI Catalog: Quick Start AMIs (Kiln's own), My AMIs (owned and shared with me), Community AMIs (public, of other accounts). */
import { useCallback } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Tabs from '@cloudscape-design/components/tabs';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import type { DescribeImagesCommandInput, Image } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import type { PageProps } from './App';
import { navigate } from './router';
import { when } from './format';
import { ResourceTable } from './ResourceTable';

function CatalogTab({ session, title, queries, keep, empty }: {
  session: Session; title: string; queries: DescribeImagesCommandInput[]; keep: (i: Image) => boolean; empty: string;
}) {
  const load = useCallback(async () => {
    const lists = await Promise.all(queries.map((q) => ec2(session).send(new DescribeImagesCommand(q))));
    const all = lists.flatMap((l) => l.Images ?? []).filter((i) => i.State === 'available' && keep(i));
    return [...new Map(all.map((i) => [i.ImageId, i])).values()];
  }, [session]);
  return (
    <ResourceTable<Image>
      title={title} noun="AMI" trackBy="ImageId" load={load} empty={<Box>{empty}</Box>}
      columns={[
        { id: 'name', header: 'Name', cell: (i) => <><b>{i.Name}</b><Box variant="small">{i.Description}</Box></>, sortingField: 'Name' },
        { id: 'id', header: 'AMI ID', cell: (i) => i.ImageId },
        { id: 'owner', header: 'Owner', cell: (i) => i.ImageOwnerAlias ?? i.OwnerId },
        { id: 'arch', header: 'Architecture', cell: (i) => i.Architecture },
        { id: 'created', header: 'Published', cell: (i) => when(i.CreationDate), sortingField: 'CreationDate' },
        { id: 'select', header: '', cell: (i) => <Button onClick={() => navigate(`/launch?ami=${i.ImageId}`)} ariaLabel={`Select ${i.ImageId}`}>Select</Button> },
      ]}
    />
  );
}

export function CatalogPage({ session }: PageProps) {
  const me = session.account ?? '';
  return (
    <Tabs tabs={[
      { id: 'quickstart', label: 'Quick Start AMIs', content: <CatalogTab session={session} title="Quick Start AMIs" queries={[{ Owners: ['amazon'] }]} keep={() => true} empty="Kiln's own images appear here once built." /> },
      { id: 'mine', label: 'My AMIs', content: <CatalogTab session={session} title="My AMIs" queries={[{ Owners: ['self'] }, { ExecutableUsers: ['self'] }]} keep={(i) => i.ImageOwnerAlias !== 'amazon'} empty="No AMIs of yours or shared with you. Create one from an instance." /> },
      { id: 'community', label: 'Community AMIs', content: <CatalogTab session={session} title="Community AMIs" queries={[{ Filters: [{ Name: 'is-public', Values: ['true'] }] }]} keep={(i) => i.OwnerId !== me && i.ImageOwnerAlias !== 'amazon'} empty="No other account has made an AMI public." /> },
    ]} />
  );
}
