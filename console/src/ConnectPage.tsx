/** Instances > Connect: a terminal (xterm.js) on a root shell inside a running instance, over the Connect WebSocket. */
import { useEffect, useRef, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import SpaceBetween from '@cloudscape-design/components/space-between';
import StatusIndicator from '@cloudscape-design/components/status-indicator';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import type { Instance } from '@aws-sdk/client-ec2';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { describeError, ec2 } from './api';
import type { PageProps } from './App';
import { connectUrl, resizeMessage } from './connect';
import { tagValue } from './format';
import { navigate, useLocation } from './router';

type Status = 'loading' | 'connecting' | 'connected' | 'closed' | 'failed';

export function ConnectPage({ session }: PageProps) {
  const id = decodeURIComponent(useLocation().path.split('/')[2] ?? '');
  const box = useRef<HTMLDivElement>(null);
  const [instance, setInstance] = useState<Instance>();
  const [problem, setProblem] = useState<string>();
  const [status, setStatus] = useState<Status>('loading');
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let gone = false;
    let ws: WebSocket | undefined;
    const term = new Terminal({
      cursorBlink: true, fontSize: 14, fontFamily: 'Menlo, Consolas, "DejaVu Sans Mono", monospace', scrollback: 5000,
      theme: { background: '#0f1b2a', foreground: '#e6edf3' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(box.current!);
    const send = (data: string | Uint8Array<ArrayBuffer>) => { if (ws?.readyState === WebSocket.OPEN) ws.send(data); };
    const encoder = new TextEncoder();
    term.onData((d) => send(encoder.encode(d)));
    term.onResize(({ cols, rows }) => send(resizeMessage(cols, rows)));
    setStatus('loading');
    setProblem(undefined);
    (async () => {
      const out = await ec2(session).send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      const inst = out.Reservations?.[0]?.Instances?.[0];
      if (gone) return;
      setInstance(inst);
      if (inst?.State?.Name !== 'running') {
        setStatus('failed');
        setProblem(`The instance is ${inst?.State?.Name ?? 'not found'}: only a running instance can be connected to.`);
        return;
      }
      setStatus('connecting');
      const url = await connectUrl(session, id, term.cols, term.rows);
      if (gone) return;
      ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      let opened = false;
      ws.onopen = () => { opened = true; setStatus('connected'); term.focus(); };
      ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer));
      ws.onclose = () => {
        if (gone) return;
        if (!opened) {
          setStatus('failed');
          setProblem('The server refused the connection (is the instance still running?).');
          return;
        }
        setStatus('closed');
        term.write('\r\n\x1b[2m[session closed]\x1b[0m\r\n');
      };
    })().catch((err: unknown) => {
      if (gone) return;
      const e = describeError(err);
      setStatus('failed');
      setProblem(`${e.code}: ${e.message}`);
    });
    return () => {
      gone = true;
      observer.disconnect();
      ws?.close();
      term.dispose();
    };
  }, [id, attempt, session]);

  const name = tagValue(instance?.Tags, 'Name');
  return (
    <SpaceBetween size="l">
      <Header variant="h1"
        description="A root shell inside the instance, as a terminal in the browser. Closing the page ends the shell."
        actions={<SpaceBetween direction="horizontal" size="xs">
          <Button onClick={() => navigate('/instances')}>Back to instances</Button>
          <Button iconName="refresh" disabled={status === 'loading' || status === 'connecting'} onClick={() => setAttempt((n) => n + 1)}>Reconnect</Button>
        </SpaceBetween>}>
        Connect to instance
      </Header>
      {problem && <Alert type="error" header="Could not connect">{problem}</Alert>}
      <Container header={<Header variant="h2" description={name ? `${name} · ${instance?.PrivateIpAddress ?? ''}` : instance?.PrivateIpAddress}
        actions={<ConnectStatus status={status} />}>{id}</Header>}>
        <Box padding="xs">
          <div ref={box} data-testid="terminal" style={{ height: '60vh', minHeight: 320, background: '#0f1b2a', padding: 6, borderRadius: 6 }} />
        </Box>
      </Container>
    </SpaceBetween>
  );
}

function ConnectStatus({ status }: { status: Status }) {
  if (status === 'connected') return <StatusIndicator type="success">Connected</StatusIndicator>;
  if (status === 'closed') return <StatusIndicator type="stopped">Session closed</StatusIndicator>;
  if (status === 'failed') return <StatusIndicator type="error">Not connected</StatusIndicator>;
  return <StatusIndicator type="loading">{status === 'loading' ? 'Checking the instance' : 'Connecting'}</StatusIndicator>;
}
