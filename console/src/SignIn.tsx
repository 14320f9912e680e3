/** The sign-in page: an access key, its secret and a region, checked with STS GetCallerIdentity before use. */
import { useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Form from '@cloudscape-design/components/form';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import SpaceBetween from '@cloudscape-design/components/space-between';
import type { Session } from './api';
import { describeError, whoAmI } from './api';

export function SignIn({ onSignIn }: { onSignIn: (s: Session) => void }) {
  const [accessKeyId, setId] = useState('');
  const [secretAccessKey, setSecret] = useState('');
  const [region, setRegion] = useState('us-east-1');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const s: Session = { accessKeyId: accessKeyId.trim(), secretAccessKey, region: region.trim() };
      onSignIn({ ...s, account: await whoAmI(s) });
    } catch (err) {
      const { code, message } = describeError(err);
      setError(`${code}: ${message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box padding={{ vertical: 'xxxl', horizontal: 'l' }}>
      <div style={{ maxWidth: 480, margin: '0 auto' }}>
        <form onSubmit={(e) => { e.preventDefault(); void submit(); }}>
          <Form actions={<Button variant="primary" loading={busy} formAction="submit" data-testid="sign-in">Sign in</Button>}>
            <Container header={<Header variant="h1" description="Sign in with an account's access key, as aws-cli does. The keys stay in this browser tab.">Kiln console</Header>}>
              <SpaceBetween size="m">
                {error && <Alert type="error" header="Sign-in failed">{error}</Alert>}
                <FormField label="Access key ID"><Input value={accessKeyId} onChange={(e) => setId(e.detail.value)} autoFocus ariaLabel="Access key ID" /></FormField>
                <FormField label="Secret access key"><Input type="password" value={secretAccessKey} onChange={(e) => setSecret(e.detail.value)} ariaLabel="Secret access key" /></FormField>
                <FormField label="Region"><Input value={region} onChange={(e) => setRegion(e.detail.value)} ariaLabel="Region" /></FormField>
              </SpaceBetween>
            </Container>
          </Form>
        </form>
      </div>
    </Box>
  );
}
