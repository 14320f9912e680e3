/** The console's frame: top bar (region, account, mode, sign out), the EC2 navigation, flash messages, the pages. */
import { lazy, Suspense, useEffect, useState } from 'react';
import Spinner from '@cloudscape-design/components/spinner';
import AppLayout from '@cloudscape-design/components/app-layout';
import Flashbar from '@cloudscape-design/components/flashbar';
import SideNavigation from '@cloudscape-design/components/side-navigation';
import type { SideNavigationProps } from '@cloudscape-design/components/side-navigation';
import TopNavigation from '@cloudscape-design/components/top-navigation';
import { applyMode, Mode } from '@cloudscape-design/global-styles';
import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2, loadSession, saveSession } from './api';
import { FlashProvider, useFlash } from './flash';
import { follow, navigate, useLocation } from './router';
import { SignIn } from './SignIn';
import { AmisPage } from './AmisPage';

// Each page is its own chunk, loaded when first opened.
const InstancesPage = lazy(() => import('./InstancesPage').then((m) => ({ default: m.InstancesPage })));
const LaunchPage = lazy(() => import('./LaunchPage').then((m) => ({ default: m.LaunchPage })));
const CreateImagePage = lazy(() => import('./CreateImagePage').then((m) => ({ default: m.CreateImagePage })));
const CatalogPage = lazy(() => import('./CatalogPage').then((m) => ({ default: m.CatalogPage })));
const KeyPairsPage = lazy(() => import('./KeyPairsPage').then((m) => ({ default: m.KeyPairsPage })));
const SecurityGroupsPage = lazy(() => import('./SecurityGroupsPage').then((m) => ({ default: m.SecurityGroupsPage })));
const VolumesPage = lazy(() => import('./StoragePages').then((m) => ({ default: m.VolumesPage })));
const SnapshotsPage = lazy(() => import('./StoragePages').then((m) => ({ default: m.SnapshotsPage })));
const LaunchTemplatesPage = lazy(() => import('./LaunchTemplatesPage').then((m) => ({ default: m.LaunchTemplatesPage })));
const AutoScalingGroupsPage = lazy(() => import('./AutoScalingGroupsPage').then((m) => ({ default: m.AutoScalingGroupsPage })));
const ConnectPage = lazy(() => import('./ConnectPage').then((m) => ({ default: m.ConnectPage })));

const NAV: SideNavigationProps.Item[] = [
  { type: 'link', text: 'Instances', href: '/instances' },
  { type: 'link', text: 'Launch instance', href: '/launch' },
  { type: 'link', text: 'Launch Templates', href: '/launch-templates' },
  { type: 'section', text: 'Images', items: [{ type: 'link', text: 'AMIs', href: '/amis' }, { type: 'link', text: 'AMI Catalog', href: '/catalog' }] },
  { type: 'section', text: 'Elastic Block Store', items: [{ type: 'link', text: 'Volumes', href: '/volumes' }, { type: 'link', text: 'Snapshots', href: '/snapshots' }] },
  { type: 'section', text: 'Network & Security', items: [{ type: 'link', text: 'Security groups', href: '/security-groups' }, { type: 'link', text: 'Key pairs', href: '/key-pairs' }] },
  { type: 'section', text: 'Auto Scaling', items: [{ type: 'link', text: 'Auto Scaling Groups', href: '/auto-scaling-groups' }] },
];

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const signIn = (s: Session | undefined) => { saveSession(s); setSession(s); if (s) navigate('/amis'); };
  return (
    <FlashProvider>
      {session ? <Console session={session} onChange={signIn} /> : <SignIn onSignIn={signIn} />}
    </FlashProvider>
  );
}

export interface PageProps { session: Session }

function Console({ session, onChange }: { session: Session; onChange: (s: Session | undefined) => void }) {
  const { path } = useLocation();
  const flash = useFlash();
  const [regions, setRegions] = useState<string[]>([session.region]);
  const [dark, setDark] = useState(localStorage.getItem('kiln-console-mode') === 'dark');
  useEffect(() => {
    ec2(session).send(new DescribeRegionsCommand({}))
      .then((r) => setRegions((r.Regions ?? []).map((x) => x.RegionName ?? '').filter(Boolean)))
      .catch((err: unknown) => flash.error(err));
  }, [session.accessKeyId]);
  const toggleMode = () => {
    localStorage.setItem('kiln-console-mode', dark ? 'light' : 'dark');
    applyMode(dark ? Mode.Light : Mode.Dark);
    setDark(!dark);
  };
  const page = path.split('/')[1] || 'amis';
  return (
    <>
      <div id="top-nav" style={{ position: 'sticky', top: 0, zIndex: 1002 }}>
        <TopNavigation
          identity={{ href: '/amis', title: 'Kiln', onFollow: follow }}
          utilities={[
            {
              type: 'menu-dropdown', text: session.region, description: 'Region', iconName: 'globe', ariaLabel: 'Region',
              items: regions.map((r) => ({ id: r, text: r, checked: r === session.region })),
              onItemClick: (e) => onChange({ ...session, region: e.detail.id }),
            },
            { type: 'button', text: dark ? 'Light mode' : 'Dark mode', onClick: toggleMode },
            {
              type: 'menu-dropdown', text: `Account ${session.account ?? ''}`, iconName: 'user-profile', ariaLabel: `Account ${session.account ?? ''}`,
              items: [{ id: 'signout', text: 'Sign out' }],
              onItemClick: () => onChange(undefined),
            },
          ]}
        />
      </div>
      <AppLayout
        headerSelector="#top-nav"
        toolsHide
        notifications={<Flashbar items={flash.items} />}
        navigation={<SideNavigation header={{ text: 'EC2', href: '/amis' }} activeHref={`/${page}`} items={NAV} onFollow={follow} />}
        content={<Suspense fallback={<Spinner size="large" />}><Page page={page} session={session} key={`${session.region}/${page}`} /></Suspense>}
      />
    </>
  );
}

function Page({ page, session }: { page: string } & PageProps) {
  if (page === 'instances') return <InstancesPage session={session} />;
  if (page === 'launch') return <LaunchPage session={session} />;
  if (page === 'create-image') return <CreateImagePage session={session} />;
  if (page === 'catalog') return <CatalogPage session={session} />;
  if (page === 'key-pairs') return <KeyPairsPage session={session} />;
  if (page === 'security-groups') return <SecurityGroupsPage session={session} />;
  if (page === 'volumes') return <VolumesPage session={session} />;
  if (page === 'snapshots') return <SnapshotsPage session={session} />;
  if (page === 'launch-templates') return <LaunchTemplatesPage session={session} />;
  if (page === 'auto-scaling-groups') return <AutoScalingGroupsPage session={session} />;
  if (page === 'connect') return <ConnectPage session={session} />;
  return <AmisPage session={session} />;
}
