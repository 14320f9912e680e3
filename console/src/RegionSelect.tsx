/** A Select over the regions the server answers DescribeRegions with. */
import { useEffect, useState } from 'react';
import Select from '@cloudscape-design/components/select';
import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';

export function RegionSelect({ session, value, onChange }: { session: Session; value: string; onChange: (r: string) => void }) {
  const [regions, setRegions] = useState<string[]>([value]);
  useEffect(() => {
    ec2(session).send(new DescribeRegionsCommand({}))
      .then((r) => setRegions((r.Regions ?? []).map((x) => x.RegionName ?? '').filter(Boolean)), () => undefined);
  }, []);
  return <Select selectedOption={{ value, label: value }} options={regions.map((r) => ({ value: r, label: r }))}
    onChange={(e) => onChange(e.detail.selectedOption.value ?? value)} ariaLabel="Region" />;
}
