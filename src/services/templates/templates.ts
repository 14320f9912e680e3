/**
 * services/templates: EC2 launch templates (lt-...), and RunInstances with
 * one (template-launch.ts). A template is one record holding its versions
 * (store kind 'launch-template', names unique per account and region by the
 * store's unique key); version numbers grow from 1 and are never reused.
 * `$Latest` is the highest version there is, `$Default` the one the template
 * names as default (the first, until ModifyLaunchTemplate says otherwise).
 * Imports core/ and, for the warnings a new version's data earns, images/,
 * keys/ and instances/ (docs/architecture.md).
 */
import type { Tag } from '../../model/records.js';
import type { LaunchTemplateData, LaunchTemplateRecord, LaunchTemplateVersionRecord } from '../../model/template-records.js';
import { DuplicateError } from '../../store/store.js';
import { recallToken, rememberToken } from '../core/client-tokens.js';
import type { TokenKind } from '../core/client-tokens.js';
import type { Caller, Context } from '../core/context.js';
import { beforeChange, Invalid } from '../core/errors.js';
import { newId, nowIso } from '../core/ids.js';
import { checkTemplateData, dataWarnings, defined } from './template-data.js';

export const templateStore = (ctx: Context) => ctx.store.collection<LaunchTemplateRecord>('launch-template');

/** A template named by id or by name (exactly one of them). */
export interface TemplateRef { id?: string; name?: string }

const NAME = /^[a-zA-Z0-9().\-/_]{3,128}$/;
const ID = /^lt-([0-9a-f]{8}|[0-9a-f]{17})$/;
const MAX_DESCRIPTION = 255;

export const createdBy = (caller: Caller) => `arn:aws:iam::${caller.account}:root`;

function checkName(name: string | undefined): asserts name is string {
  if (!name) throw new Invalid('MissingParameter', 'The request must contain the parameter LaunchTemplateName');
  if (!NAME.test(name)) {
    throw new Invalid('InvalidLaunchTemplateName.MalformedException',
      'A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.');
  }
}

function checkDescription(d: string | undefined): void {
  if (d !== undefined && d.length > MAX_DESCRIPTION) {
    throw new Invalid('InvalidParameterValue', `The version description must be at most ${MAX_DESCRIPTION} characters long.`);
  }
}

export const templateNotFound = (ref: TemplateRef) => ref.id
  ? new Invalid('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${ref.id}, does not exist.`)
  : new Invalid('InvalidLaunchTemplateName.NotFoundException', `The specified launch template, with template name ${ref.name}, does not exist.`);

export const malformedId = (id: string) => new Invalid('InvalidLaunchTemplateId.Malformed', `The specified ID for the launch template is malformed: '${id}' (expecting "lt-...").`);

/** Checks a reference's shape: one of id and name, the id well formed. */
export function checkRef(ref: TemplateRef): void {
  if (ref.id && ref.name) {
    throw new Invalid('InvalidParameterCombination', 'Specify either the launch template ID or the launch template name, but not both.');
  }
  if (!ref.id && !ref.name) throw new Invalid('MissingParameter', 'The request must contain the parameter launchTemplateName or launchTemplateId');
  if (ref.id && !ID.test(ref.id)) throw malformedId(ref.id);
}

/** The caller's template the reference names, or undefined. */
export async function lookupTemplate(ctx: Context, caller: Caller, ref: TemplateRef): Promise<LaunchTemplateRecord | undefined> {
  checkRef(ref);
  if (ref.id) {
    const t = await templateStore(ctx).get(ref.id);
    return t && t.account === caller.account && t.region === caller.region ? t : undefined;
  }
  return (await templateStore(ctx).list(caller)).find((t) => t.name === ref.name);
}

/** The caller's template the reference names; the NotFound error AWS gives for an id or a name otherwise. */
export async function findTemplate(ctx: Context, caller: Caller, ref: TemplateRef): Promise<LaunchTemplateRecord> {
  const t = await lookupTemplate(ctx, caller, ref);
  if (!t) throw templateNotFound(ref);
  return t;
}

export const latestVersion = (t: LaunchTemplateRecord) => Math.max(...t.versions.map((v) => v.versionNumber));

/** A version string ("3", "$Latest", "$Default") as a number; InvalidParameterValue for anything else. */
export function versionNumber(t: LaunchTemplateRecord, version: string): number {
  if (version === '$Latest') return latestVersion(t);
  if (version === '$Default') return t.defaultVersion;
  if (!/^[1-9]\d{0,18}$/.test(version)) throw new Invalid('InvalidParameterValue', `Invalid launch template version: '${version}'. Expected a version number, $Latest or $Default.`);
  return Number(version);
}

/** The version a version string names (default: $Default); InvalidLaunchTemplateId.VersionNotFound when it is not there. */
export function findVersion(t: LaunchTemplateRecord, version = '$Default'): LaunchTemplateVersionRecord {
  const n = versionNumber(t, version);
  const v = t.versions.find((x) => x.versionNumber === n);
  if (!v) throw new Invalid('InvalidLaunchTemplateId.VersionNotFound', `Could not find the specified version ${version} for the launch template with ID ${t.id}.`);
  return v;
}

/** The template (and version number) an earlier request with the same client token made, or undefined. */
async function recalled(ctx: Context, caller: Caller, kind: TokenKind, token: string | undefined, req: object) {
  const prior = await recallToken(ctx, caller, kind, token, req);
  const template = prior ? await templateStore(ctx).get(prior[0]!) : undefined;
  return template && { template, version: template.versions.find((v) => v.versionNumber === Number(prior![1] ?? 1)) ?? template.versions[0]! };
}

export interface NewTemplate {
  name?: string;
  data: LaunchTemplateData;
  versionDescription?: string;
  clientToken?: string;
  tags?: Tag[];
}

/** What a create answers: the template, the version it made, and the warnings its data earned (launch would fail with these). */
export interface Created { template: LaunchTemplateRecord; version: LaunchTemplateVersionRecord; warnings: Error[] }

/** CreateLaunchTemplate: version 1 holds the data and is the default. */
export async function createLaunchTemplate(ctx: Context, caller: Caller, req: NewTemplate): Promise<Created> {
  checkName(req.name);
  checkDescription(req.versionDescription);
  checkTemplateData(req.data);
  const warnings = await dataWarnings(ctx, caller, req.data);
  const template = await ctx.store.transaction(async () => {
    const prior = await recalled(ctx, caller, 'create-launch-template', req.clientToken, req);
    if (prior) return prior.template;
    beforeChange(caller);
    const now = nowIso();
    const rec: LaunchTemplateRecord = {
      id: newId('launch-template'), account: caller.account, region: caller.region, name: req.name!, createTime: now,
      createdBy: createdBy(caller), defaultVersion: 1, nextVersion: 2, tags: req.tags ?? [],
      versions: [{ versionNumber: 1, versionDescription: req.versionDescription, createTime: now, createdBy: createdBy(caller), data: req.data }],
    };
    try {
      await templateStore(ctx).insert(rec);
    } catch (err) {
      if (err instanceof DuplicateError) throw new Invalid('InvalidLaunchTemplateName.AlreadyExistsException', 'Launch template name already in use.');
      throw err;
    }
    await rememberToken(ctx, caller, 'create-launch-template', req.clientToken, req, [rec.id]);
    return rec;
  });
  return { template, version: template.versions.find((v) => v.versionNumber === 1) ?? template.versions[0]!, warnings };
}

export interface NewVersion {
  ref: TemplateRef;
  /** The version whose data the new one starts from; the given fields replace its own. */
  sourceVersion?: string;
  data: LaunchTemplateData;
  versionDescription?: string;
  clientToken?: string;
}

/** CreateLaunchTemplateVersion: the next number; the default stays where it is. */
export async function createLaunchTemplateVersion(ctx: Context, caller: Caller, req: NewVersion): Promise<Created> {
  checkDescription(req.versionDescription);
  checkTemplateData(req.data);
  return ctx.store.transaction(async () => {
    const prior = await recalled(ctx, caller, 'create-launch-template-version', req.clientToken, req);
    if (prior) return { ...prior, warnings: [] };
    const t = await findTemplate(ctx, caller, req.ref);
    const source = req.sourceVersion !== undefined ? findVersion(t, req.sourceVersion).data : {};
    const data = { ...source, ...defined(req.data) };
    const warnings = await dataWarnings(ctx, caller, data);
    beforeChange(caller);
    const version: LaunchTemplateVersionRecord = {
      versionNumber: t.nextVersion, versionDescription: req.versionDescription, createTime: nowIso(), createdBy: createdBy(caller), data,
    };
    const template = await templateStore(ctx).update(t.id, (cur) => ({ ...cur, nextVersion: cur.nextVersion + 1, versions: [...cur.versions, version] }));
    await rememberToken(ctx, caller, 'create-launch-template-version', req.clientToken, req, [t.id, String(version.versionNumber)]);
    return { template, version, warnings };
  });
}

/** DescribeLaunchTemplates: the caller's templates; ids and names given must all exist. */
export async function describeLaunchTemplates(ctx: Context, caller: Caller, ids: string[] = [], names: string[] = []): Promise<LaunchTemplateRecord[]> {
  for (const id of ids) if (!ID.test(id)) throw malformedId(id);
  const all = await templateStore(ctx).list(caller);
  const missingId = ids.find((id) => !all.some((t) => t.id === id));
  if (missingId) throw templateNotFound({ id: missingId });
  const missingName = names.find((n) => !all.some((t) => t.name === n));
  if (missingName) throw templateNotFound({ name: missingName });
  if (!ids.length && !names.length) return all;
  return all.filter((t) => ids.includes(t.id) || names.includes(t.name));
}

/** One version with its template, as DescribeLaunchTemplateVersions lists them. */
export interface TemplateVersion { template: LaunchTemplateRecord; version: LaunchTemplateVersionRecord }

export interface VersionQuery { ref?: TemplateRef; versions?: string[]; minVersion?: string; maxVersion?: string }

/**
 * DescribeLaunchTemplateVersions. With a template: the versions named (in
 * the order asked), else every version from MinVersion to MaxVersion, newest
 * first. Without one: `$Latest` and/or `$Default` of every template.
 */
export async function describeLaunchTemplateVersions(ctx: Context, caller: Caller, q: VersionQuery): Promise<TemplateVersion[]> {
  const asked = q.versions ?? [];
  if (!q.ref?.id && !q.ref?.name) {
    if (!asked.length || asked.some((v) => v !== '$Latest' && v !== '$Default')) {
      throw new Invalid('MissingParameter', 'The request must contain the parameter launchTemplateName or launchTemplateId');
    }
    const all = await templateStore(ctx).list(caller);
    return all.flatMap((template) => [...new Set(asked.map((v) => versionNumber(template, v)))]
      .map((n) => ({ template, version: template.versions.find((v) => v.versionNumber === n)! })));
  }
  const template = await findTemplate(ctx, caller, q.ref);
  if (asked.length) {
    const seen = new Set<number>();
    return asked.map((v) => findVersion(template, v)).filter((v) => !seen.has(v.versionNumber) && !!seen.add(v.versionNumber))
      .map((version) => ({ template, version }));
  }
  const bound = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new Invalid('InvalidParameterValue', `Invalid value '${v}' for ${name}. It must be a version number.`);
    return Number(v);
  };
  const [min, max] = [bound(q.minVersion, 'MinVersion') ?? 0, bound(q.maxVersion, 'MaxVersion') ?? Infinity];
  return template.versions.filter((v) => v.versionNumber >= min && v.versionNumber <= max)
    .sort((a, b) => b.versionNumber - a.versionNumber).map((version) => ({ template, version }));
}

/** ModifyLaunchTemplate: sets the default version (an existing one). */
export async function modifyLaunchTemplate(ctx: Context, caller: Caller, ref: TemplateRef, defaultVersion: string | undefined): Promise<LaunchTemplateRecord> {
  return ctx.store.transaction(async () => {
    const t = await findTemplate(ctx, caller, ref);
    if (defaultVersion === undefined) return t;
    const n = versionNumber(t, defaultVersion);
    if (!t.versions.some((v) => v.versionNumber === n)) {
      throw new Invalid('InvalidLaunchTemplateId.VersionNotFound', `The launch template version ${defaultVersion} is not found for the specified launch template.`);
    }
    beforeChange(caller);
    return templateStore(ctx).update(t.id, (cur) => ({ ...cur, defaultVersion: n }));
  });
}

/** DeleteLaunchTemplate: the template and all its versions. Instances launched from it keep running. */
export async function deleteLaunchTemplate(ctx: Context, caller: Caller, ref: TemplateRef): Promise<LaunchTemplateRecord> {
  return ctx.store.transaction(async () => {
    const t = await findTemplate(ctx, caller, ref);
    beforeChange(caller);
    await templateStore(ctx).delete(t.id);
    return t;
  });
}

/** A version DeleteLaunchTemplateVersions could not delete, with AWS's per-version error code. */
export interface VersionFailure { versionNumber?: number; code: string; message: string }

export interface VersionsDeleted { template?: LaunchTemplateRecord; ref: TemplateRef; deleted: number[]; failed: VersionFailure[] }

const MAX_DELETE = 200;

/**
 * DeleteLaunchTemplateVersions: each version deleted or reported with its
 * reason, as AWS does (the request itself succeeds): a version that is not
 * there, the default version (make another the default, or delete the
 * template), or every version when the template itself is not there.
 */
export async function deleteLaunchTemplateVersions(ctx: Context, caller: Caller, ref: TemplateRef, versions: string[]): Promise<VersionsDeleted> {
  if (!versions.length) throw new Invalid('MissingParameter', 'The request must contain the parameter LaunchTemplateVersion');
  if (versions.length > MAX_DELETE) throw new Invalid('InvalidParameterValue', `You can delete up to ${MAX_DELETE} launch template versions in a single request.`);
  const asNumber = (v: string) => (/^[1-9]\d{0,18}$/.test(v) ? Number(v) : undefined);
  if (ref.id && !ref.name && !ID.test(ref.id)) {
    return { ref, deleted: [], failed: versions.map((v) => ({ versionNumber: asNumber(v), code: 'launchTemplateIdMalformed', message: `The launch template ID ${ref.id} is malformed.` })) };
  }
  return ctx.store.transaction(async () => {
    const t = await lookupTemplate(ctx, caller, ref);
    if (!t) {
      const [code, message] = ref.id ? ['launchTemplateIdDoesNotExist', `The launch template ID ${ref.id} does not exist.`]
        : ['launchTemplateNameDoesNotExist', `The launch template name ${ref.name} does not exist.`];
      return { ref, deleted: [], failed: versions.map((v) => ({ versionNumber: asNumber(v), code, message })) };
    }
    const deleted: number[] = [];
    const failed: VersionFailure[] = [];
    for (const v of versions) {
      const n = asNumber(v);
      if (n === undefined || !t.versions.some((x) => x.versionNumber === n) || deleted.includes(n)) {
        failed.push({ versionNumber: n, code: 'launchTemplateVersionDoesNotExist', message: 'The specified launch template version does not exist.' });
      } else if (n === t.defaultVersion) {
        failed.push({ versionNumber: n, code: 'unexpectedError', message: 'The default version of a launch template cannot be deleted. Set another version as the default, or delete the launch template.' });
      } else {
        deleted.push(n);
      }
    }
    beforeChange(caller);
    const template = deleted.length
      ? await templateStore(ctx).update(t.id, (cur) => ({ ...cur, versions: cur.versions.filter((x) => !deleted.includes(x.versionNumber)) }))
      : t;
    return { template, ref, deleted, failed };
  });
}
