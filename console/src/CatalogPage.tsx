/**
 * AMI Catalog: Quick Start AMIs (Kiln's own), My AMIs (owned and shared with me), AWS Marketplace AMIs (vendors'
 * products: subscribe, then launch) and Community AMIs (public, of other accounts).
 */
import { useCallback, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import SpaceBetween from '@cloudscape-design/components/space-between';
import StatusIndicator from '@cloudscape-design/components/status-indicator';
import Tabs from '@cloudscape-design/components/tabs';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import type { DescribeImagesCommandInput, Image } from '@aws-sdk/client-ec2';
import type { Product, Session } from './api';
import { ec2, marketplace } from './api';
import type { PageProps } from './App';
import { navigate } from './router';
import { when } from './format';
import { ActionModal, ResourceTable } from './ResourceTable';

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
        { id: 'name', header: 'Name', cell: (i) => <><b>{i.Name}</b><Box variant="small" display="block">{i.Description}</Box></>, sortingField: 'Name' },
        { id: 'id', header: 'AMI ID', cell: (i) => i.ImageId },
        { id: 'owner', header: 'Owner', cell: (i) => i.ImageOwnerAlias ?? i.OwnerId },
        { id: 'arch', header: 'Architecture', cell: (i) => i.Architecture },
        { id: 'created', header: 'Published', cell: (i) => when(i.CreationDate), sortingField: 'CreationDate' },
        { id: 'select', header: '', cell: (i) => <Button onClick={() => navigate(`/launch?ami=${i.ImageId}`)} ariaLabel={`Select ${i.ImageId}`}>Select</Button> },
      ]}
    />
  );
}

const perHour = (usd: number) => (usd === 0 ? 'Free' : `$${usd.toFixed(usd < 1 ? 3 : 2)}/hr`);

/**
 * The vendors' products with their price; Subscribe (the terms in a dialog) is what lets this account launch a
 * product's AMI: Select before subscribing leads to the launch page, where RunInstances answers OptInRequired.
 */
function MarketplaceTab({ session }: { session: Session }) {
  const [subscribing, setSubscribing] = useState<{ product: Product; reload: () => Promise<void> }>();
  const load = useCallback(async () => (await marketplace<{ products: Product[] }>(session, 'GET', 'products')).products, [session]);
  return (
    <>
      <ResourceTable<Product>
        title="AWS Marketplace AMIs" noun="product" trackBy="productCode" load={load} hidden={['code']}
        empty={<Box>No vendor has published a product. Vendors publish with <code>kiln marketplace publish</code>.</Box>}
        columns={[
          { id: 'title', header: 'Product', cell: (p) => <><b>{p.title}</b><Box variant="small" display="block">{p.description}</Box></>, sortingField: 'title' },
          { id: 'vendor', header: 'Vendor', cell: (p) => p.vendor.alias ?? p.vendor.id },
          { id: 'price', header: 'Software price', cell: (p) => perHour(p.price), sortingField: 'price' },
          { id: 'amis', header: 'AMI IDs', cell: (p) => p.imageIds.join(', ') },
          { id: 'code', header: 'Product code', cell: (p) => p.productCode },
          { id: 'status', header: 'Subscription', cell: (p) => (p.subscribed
            ? <StatusIndicator type="success">Subscribed</StatusIndicator> : <StatusIndicator type="stopped">Not subscribed</StatusIndicator>) },
          { id: 'select', header: '', cell: (p) => <Button onClick={() => navigate(`/launch?ami=${p.imageIds[0]}`)} ariaLabel={`Select ${p.title}`}>Select</Button> },
        ]}
        actions={(selected, reload) => (
          <Button variant="primary" disabled={!selected || selected.subscribed} onClick={() => selected && setSubscribing({ product: selected, reload })}>Subscribe</Button>
        )}
      />
      {subscribing && (
        <ActionModal title={`Subscribe to ${subscribing.product.title}`} action="Subscribe"
          onClose={(changed) => { if (changed) void subscribing.reload(); setSubscribing(undefined); }}
          run={async () => {
            await marketplace(session, 'POST', 'subscriptions', { productCode: subscribing.product.productCode });
            return `Subscribed to ${subscribing.product.title}: its AMIs now launch in this account.`;
          }}>
          <SpaceBetween size="s">
            <Box>Sold by <b>{subscribing.product.vendor.alias ?? subscribing.product.vendor.id}</b>.</Box>
            <Box>Software price: <b>{perHour(subscribing.product.price)}</b> per running instance, metered by the hour and reported to the vendor.</Box>
            <Box variant="small">Product code {subscribing.product.productCode}. Instances already running keep running if you unsubscribe later.</Box>
          </SpaceBetween>
        </ActionModal>
      )}
    </>
  );
}

export function CatalogPage({ session }: PageProps) {
  const me = session.account ?? '';
  return (
    <Tabs tabs={[
      { id: 'quickstart', label: 'Quick Start AMIs', content: <CatalogTab session={session} title="Quick Start AMIs" queries={[{ Owners: ['amazon'] }]} keep={() => true} empty="Kiln's own images appear here once built." /> },
      { id: 'mine', label: 'My AMIs', content: <CatalogTab session={session} title="My AMIs" queries={[{ Owners: ['self'] }, { ExecutableUsers: ['self'] }]} keep={(i) => i.ImageOwnerAlias !== 'amazon'} empty="No AMIs of yours or shared with you. Create one from an instance." /> },
      { id: 'marketplace', label: 'AWS Marketplace AMIs', content: <MarketplaceTab session={session} /> },
      { id: 'community', label: 'Community AMIs', content: <CatalogTab session={session} title="Community AMIs" queries={[{ Filters: [{ Name: 'is-public', Values: ['true'] }] }]} keep={(i) => i.OwnerId !== me && i.ImageOwnerAlias !== 'amazon' && i.ImageOwnerAlias !== 'aws-marketplace'} empty="No other account has made an AMI public." /> },
    ]} />
  );
}
