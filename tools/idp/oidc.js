// A test OpenID Provider built on the npm package oidc-provider (an OpenID
// Certified implementation), so Roster's OIDC relying party is tested
// against code we did not write.
//
// Usage: node oidc.js CONFIG.json   (or IDP_CONFIG='{"port":0,...}' node oidc.js)
//
// Config (JSON):
//   port           0 picks a free port; the issuer is http://127.0.0.1:PORT
//   client         { client_id, client_secret, redirect_uris[],
//                    token_endpoint_auth_method? ("client_secret_basic") }
//   users          [{ sub, email, email_verified, given_name, family_name,
//                    name?, groups[] }]
//   defaultUser    sub (or email) logged in when the request has no login_hint;
//                  default: the first user
//   claimsInIDToken  true (default): scope claims are in the ID token too;
//                  false: only in userinfo (oidc-provider's strict default)
//
// Login is not interactive: the interaction handler logs in the user named by
// the authorization request's login_hint (a sub or an email), else the user set
// with POST /admin/login, else defaultUser, and grants consent at once. A test
// drives the whole flow with an HTTP client that follows redirects and keeps
// cookies.
//
// Test-only admin endpoints (loopback, no authentication):
//   POST /admin/rotate[?retire=1]  new RSA signing key, current at once; the old
//                                  keys stay in the JWKS unless retire=1
//   POST /admin/login {"user":"bob"} | {"error":"access_denied"} | {}
//                                  who the next logins are (or that they fail)
//   POST /admin/users {user}       adds or replaces a user (by sub)
// SIGHUP rotates the keys too.
//
// When ready it prints one JSON line on stdout:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT,"kid":"..."}
// Diagnostics go to stderr.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider, { errors } from 'oidc-provider';

function readConfig() {
  if (process.argv[2]) {
    return JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  }
  if (process.env.IDP_CONFIG) {
    return JSON.parse(process.env.IDP_CONFIG);
  }
  return {};
}

const cfg = readConfig();
const client = {
  client_id: 'roster-test',
  client_secret: 'roster-test-secret',
  redirect_uris: ['http://127.0.0.1/callback'],
  ...cfg.client,
};
client.grant_types ??= ['authorization_code', 'refresh_token'];
client.response_types ??= ['code'];
if (!client.client_secret) {
  delete client.client_secret;
  client.token_endpoint_auth_method = 'none';
}

const users = new Map();
for (const u of cfg.users?.length ? cfg.users : [{
  sub: 'alice', email: 'alice@example.com', email_verified: true, given_name: 'Alice', family_name: 'Archer', groups: ['agents'],
}]) {
  users.set(String(u.sub), u);
}
let nextLogin = {}; // set by POST /admin/login

function findUser(hint) {
  if (!hint) return undefined;
  if (users.has(hint)) return users.get(hint);
  const lower = String(hint).toLowerCase();
  for (const u of users.values()) {
    if (u.email && u.email.toLowerCase() === lower) return u;
  }
  return undefined;
}

function chooseUser(params) {
  const name = params.login_hint || nextLogin.user || cfg.defaultUser || users.keys().next().value;
  return { name, user: findUser(name) };
}

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(9).toString('base64url'), use: 'sig', alg: 'RS256' };
}

// The first key of the list signs. Rotation builds a new Provider with the
// new key first; sessions, codes and grants live in oidc-provider's
// module-level memory adapter, and the cookie keys stay the same, so a
// rotation does not log anybody out.
let keys = [newSigningKey()];
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

function account(u) {
  return {
    accountId: String(u.sub),
    async claims() {
      const name = u.name ?? [u.given_name, u.family_name].filter(Boolean).join(' ');
      return {
        sub: String(u.sub),
        email: u.email,
        email_verified: u.email_verified ?? false,
        given_name: u.given_name,
        family_name: u.family_name,
        name: name || undefined,
        groups: u.groups ?? [],
      };
    },
  };
}

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [client],
    jwks: { keys },
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
      groups: ['groups'],
    },
    conformIdTokenClaims: cfg.claimsInIDToken === false,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
    },
    async findAccount(ctx, id) {
      const u = users.get(String(id));
      return u ? account(u) : undefined;
    },
    renderError(ctx, out, err) {
      ctx.type = 'application/json';
      ctx.body = out;
      if (err?.status >= 500 || !err?.status) console.error('oidc render error:', err);
    },
  });
  for (const ev of ['server_error', 'authorization.error', 'grant.error', 'userinfo.error', 'jwks.error', 'discovery.error']) {
    provider.on(ev, (ctx, err) => console.error(`oidc ${ev}:`, err?.message, err?.error_description ?? ''));
  }
  return provider;
}

let provider;
let handler;

function rotate(retire) {
  const key = newSigningKey();
  keys = retire ? [key] : [key, ...keys];
  provider = buildProvider(provider.issuer);
  handler = provider.callback();
  console.error(`oidc: rotated signing keys, current kid ${key.kid}, ${keys.length} in JWKS`);
  return { kid: key.kid, kids: keys.map((k) => k.kid) };
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (prompt.name === 'login') {
    if (nextLogin.error) {
      return provider.interactionFinished(req, res, {
        error: nextLogin.error,
        error_description: 'refused by the test IdP',
      }, { mergeWithLastSubmission: false });
    }
    const { name, user } = chooseUser(params);
    if (!user) {
      return provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: `unknown test user ${name}`,
      }, { mergeWithLastSubmission: false });
    }
    return provider.interactionFinished(req, res, {
      login: { accountId: String(user.sub) },
    }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  throw new errors.InvalidRequest(`unexpected prompt ${prompt.name}`);
}

async function readJSON(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function sendJSON(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function admin(req, res, url) {
  if (req.method !== 'POST') return sendJSON(res, 405, { error: 'POST only' });
  switch (url.pathname) {
    case '/admin/rotate':
      return sendJSON(res, 200, rotate(url.searchParams.get('retire') === '1'));
    case '/admin/login': {
      const body = await readJSON(req);
      nextLogin = { user: body.user || undefined, error: body.error || undefined };
      return sendJSON(res, 200, nextLogin);
    }
    case '/admin/users': {
      const u = await readJSON(req);
      if (!u.sub) return sendJSON(res, 400, { error: 'sub is required' });
      users.set(String(u.sub), u);
      return sendJSON(res, 200, u);
    }
    default:
      return sendJSON(res, 404, { error: 'no such admin endpoint' });
  }
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  let p;
  if (url.pathname.startsWith('/admin/')) {
    p = admin(req, res, url);
  } else if (url.pathname.startsWith('/interaction/')) {
    p = interaction(req, res);
  } else {
    handler(req, res);
    return;
  }
  p.catch((err) => {
    console.error(`oidc ${url.pathname}:`, err);
    if (!res.headersSent) sendJSON(res, err.statusCode ?? err.status ?? 500, { error: err.error ?? 'server_error', error_description: err.error_description ?? err.message });
    else res.end();
  });
});

server.listen(Number(cfg.port ?? process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  provider = buildProvider(issuer);
  handler = provider.callback();
  process.on('SIGHUP', () => rotate(false));
  process.stdout.write(`${JSON.stringify({ issuer, port, kid: keys[0].kid })}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
// Under sso/idptest the test process holds our stdin open: when it dies,
// even by SIGKILL, stdin ends and the IdP does not outlive it.
if (process.env.IDP_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
