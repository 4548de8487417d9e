import type { Harness } from './harness';
import { SANDBOX } from '../sandbox/config';

/** A client of the /admin pages that keeps its cookies, as a browser would. */

export interface Browserish {
  cookies: Map<string, string>;
}

export function keepCookies(b: Browserish, headers: Headers): string[] {
  const set = headers.getSetCookie();
  for (const c of set) {
    const [pair] = c.split(';');
    const i = pair.indexOf('=');
    const name = pair.slice(0, i);
    const value = pair.slice(i + 1);
    if (/Max-Age=0/i.test(c)) b.cookies.delete(name);
    else b.cookies.set(name, value);
  }
  return set;
}

export const cookieHeader = (b: Browserish) => [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

export async function get(h: Harness, b: Browserish, path: string, headers: Record<string, string> = {}) {
  const r = await h.call('GET', path, undefined, { cookie: cookieHeader(b), ...headers });
  keepCookies(b, r.headers);
  return r;
}

export async function post(h: Harness, b: Browserish, path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const r = await h.call('POST', path, new URLSearchParams(form).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    cookie: cookieHeader(b),
    ...headers,
  });
  const set = keepCookies(b, r.headers);
  return { ...r, set };
}

export async function signIn(h: Harness, key: string = SANDBOX.adminKey, headers: Record<string, string> = {}) {
  const b: Browserish = { cookies: new Map() };
  const page = await get(h, b, '/admin/login', headers);
  const login = /name="_login" value="([^"]+)"/.exec(page.text)![1];
  const r = await post(h, b, '/admin/login', { _login: login, key, next: '/admin' }, headers);
  return { b, r };
}

export async function csrfOf(h: Harness, b: Browserish): Promise<string> {
  const page = await get(h, b, '/admin');
  return /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
}
