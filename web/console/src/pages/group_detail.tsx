import { useEffect, useState } from 'preact/hooks';
import { SCIM_PATCH } from '../../../shared/api.js';
import { SCOPES } from '../../../shared/scopes.js';
import { useApp } from '../context.js';
import { href, navigate } from '../router.js';
import { ErrorBanner, Field, GrantsPanel, PrincipalPicker, useConfirm, type Ask } from '../ui/index.js';
import type { Group } from '../resources.js';
import { useAction } from './user_detail.js';

function Settings({ group, canWrite, reload, ask }: { group: Group; canWrite: boolean; reload(): Promise<void>; ask: Ask }) {
  const { api } = useApp();
  const [name, setName] = useState(group.displayName);
  const [description, setDescription] = useState(group.description ?? '');
  const a = useAction();
  const save = () => {
    const ops: Record<string, unknown>[] = [{ op: 'replace', value: { displayName: name.trim(), ...(description.trim() ? { description: description.trim() } : {}) } }];
    if (!description.trim() && group.description !== undefined) ops.push({ op: 'remove', path: 'description' });
    void a.run(async () => { await api.patch(`Groups/${group.id}`, { schemas: [SCIM_PATCH], Operations: ops }); await reload(); }, 'The group was saved.');
  };
  return (
    <form class="panel" aria-labelledby="group-settings-title" onSubmit={(e) => { e.preventDefault(); save(); }}>
      <h2 id="group-settings-title">Name and description</h2>
      {a.banners}
      <Field label="Name" name="displayName" value={name} onInput={setName} required disabled={!canWrite} />
      <Field label="Description" name="description" value={description} onInput={setDescription} disabled={!canWrite} />
      {canWrite ? (
        <div class="actions">
          <button type="button" class="danger" disabled={a.busy}
            onClick={() => ask({ title: 'Delete the group?', confirmLabel: 'Delete group', message: `${group.displayName} is deleted; its members lose what it gives. This cannot be undone.`,
              run: () => void a.run(() => api.del(`Groups/${group.id}`), 'The group was deleted.').then((ok) => { if (ok) navigate('/groups'); }) })}>Delete group</button>
          <button type="submit" disabled={a.busy || !name.trim()}>Save group</button>
        </div>
      ) : null}
    </form>
  );
}

function Members({ group, canWrite, reload, ask }: { group: Group; canWrite: boolean; reload(): Promise<void>; ask: Ask }) {
  const { api } = useApp();
  const a = useAction();
  const members = group.members ?? [];
  const patch = (op: Record<string, unknown>) => api.patch(`Groups/${group.id}`, { schemas: [SCIM_PATCH], Operations: [op] });
  return (
    <section class="panel" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      {a.banners}
      {members.length === 0 ? <p class="muted">No members.</p> : (
        <ul class="items" aria-label="Members of the group">
          {members.map((m) => (
            <li key={m.value} data-member={m.value}>
              <span><a href={href(m.type === 'Group' ? `/groups/${m.value}` : `/users/${m.value}`)}>{m.display ?? m.value}</a> <span class="muted">({m.type === 'Group' ? 'group' : 'user'})</span></span>
              {canWrite ? <button type="button" class="secondary" disabled={a.busy} aria-label={`Remove ${m.display ?? 'member'}`}
                onClick={() => ask({ title: 'Remove the member?', confirmLabel: 'Remove', message: `${m.display ?? m.value} loses what ${group.displayName} gives.`,
                  run: () => void a.run(async () => { await patch({ op: 'remove', path: `members[value eq "${m.value}"]` }); await reload(); }, 'The member was removed.') })}>Remove</button> : null}
            </li>
          ))}
        </ul>
      )}
      {canWrite ? <PrincipalPicker label="Find users or groups to add" kinds={['User', 'Group']} busy={a.busy} exclude={new Set([group.id, ...members.map((m) => m.value)])}
        onPick={(x) => void a.run(async () => { await patch({ op: 'add', path: 'members', value: [{ value: x.value, type: x.type }] }); await reload(); }, `${x.display} was added.`)} /> : null}
    </section>
  );
}

/** `#/groups/ID`: rename, describe, members, roles granted to the group, delete. */
export function GroupDetail({ id }: { id: string }) {
  const { api, scopes } = useApp();
  const [group, setGroup] = useState<Group>();
  const [error, setError] = useState<unknown>();
  const [dialog, ask] = useConfirm();
  const reload = async () => { setGroup(await api.get<Group>(`Groups/${encodeURIComponent(id)}`)); };
  useEffect(() => { setGroup(undefined); setError(undefined); reload().catch(setError); }, [id]);
  const canWrite = scopes.can(SCOPES.groups);
  return (
    <section aria-labelledby="group-title">
      <p><a href={href('/groups')}>← All groups</a></p>
      <h1 id="group-title">{group ? group.displayName : 'Group'}</h1>
      <ErrorBanner error={error} />
      {group ? (
        <div class="detail-grid">
          <Settings key={group.id} group={group} canWrite={canWrite} reload={reload} ask={ask} />
          <Members group={group} canWrite={canWrite} reload={reload} ask={ask} />
          {scopes.can(SCOPES.apps) ? <GrantsPanel granteeType="Group" granteeId={group.id} granteeName={group.displayName} ask={ask} /> : null}
        </div>
      ) : null}
      {dialog}
    </section>
  );
}
