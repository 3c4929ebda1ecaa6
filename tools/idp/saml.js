// A test SAML 2.0 Identity Provider built on the npm package samlify, so
// Roster's SAML service provider is tested against code we did not write.
//
// Usage: node saml.js CONFIG.json   (or IDP_CONFIG='{...}' node saml.js)
//
// Config (JSON):
//   port          0 picks a free port; the IdP lives at http://127.0.0.1:PORT
//   entityID      default http://127.0.0.1:PORT/metadata
//   certificate   PEM of the signing certificate   (required)
//   privateKey    PEM of its RSA private key       (required)
//   users         [{ nameID, nameIDFormat?, attributes: { name: [values] },
//                    sessionSeconds? }]
//   defaultUser   nameID logged in when nothing else says who; default: first
//   spMetadata    [ SP metadata XML, ... ]   (more with POST /admin/sp)
//   wantAuthnRequestsSigned  the IdP metadata says so and unsigned
//                 AuthnRequests are refused
//   encryptAssertions  assertions are encrypted for the SP's encryption key
//   sign          "assertion" (default), "response" or "both"
//
// Endpoints:
//   GET  /metadata                       IdP metadata (signing cert, SSO URLs)
//   GET  /sso?SAMLRequest=...            HTTP-Redirect binding (signed or not)
//   POST /sso                            HTTP-POST binding
//        optional ?user=NAMEID picks the user of this login
//   GET  /idp-initiated?sp=ENTITYID[&user=][&RelayState=]
//                                        unsolicited response (no InResponseTo)
// Each answers with an auto-submitting HTML form that POSTs SAMLResponse
// (and RelayState) to the SP's HTTP-POST AssertionConsumerService.
//
// Test-only admin endpoints (loopback, no authentication):
//   POST /admin/sp        body: SP metadata XML; adds or replaces by entityID
//   POST /admin/settings  JSON merged into the settings: nextUser,
//        encryptAssertions, sign, error (a SAML status code: the next
//        responses fail with it), audience, validSeconds (Conditions
//        NotOnOrAfter - now; negative makes expired assertions)
//   POST /admin/users     {nameID, attributes} adds or replaces a user
//   POST /admin/keys      {certificate, privateKey, retire?}: the new pair
//        signs from now on; the metadata lists it with the earlier
//        certificates, or alone with retire
//
// When ready it prints one JSON line on stdout:
//   {"entityID":...,"port":...,"metadataURL":...,"ssoURL":...}

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as zlib from 'node:zlib';

import * as samlify from 'samlify';
import * as validator from '@authenio/samlify-xmllint-wasm';

samlify.setSchemaValidator(validator);

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  rsaSHA256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
};

function readConfig() {
  if (process.argv[2]) return JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  if (process.env.IDP_CONFIG) return JSON.parse(process.env.IDP_CONFIG);
  return {};
}

const cfg = readConfig();
if (!cfg.certificate || !cfg.privateKey) {
  console.error('saml: config needs certificate and privateKey (PEM)');
  process.exit(2);
}

const users = new Map();
for (const u of cfg.users?.length ? cfg.users : [{
  nameID: 'alice@example.com',
  attributes: { email: ['alice@example.com'], givenName: ['Alice'], familyName: ['Archer'], groups: ['agents'] },
}]) {
  users.set(u.nameID, u);
}

const settings = {
  nextUser: undefined,
  encryptAssertions: !!cfg.encryptAssertions,
  sign: cfg.sign || 'assertion',
  error: undefined,
  audience: undefined,
  validSeconds: 300,
};

const sps = new Map(); // entityID -> metadata XML

function addSP(xml) {
  const sp = samlify.ServiceProvider({ metadata: xml });
  const id = sp.entityMeta.getEntityID();
  if (!id) throw new Error('SP metadata has no entityID');
  sps.set(id, xml);
  return id;
}

for (const xml of cfg.spMetadata ?? []) addSP(xml);

let base;
// The first pair signs; the metadata lists every certificate, so an SP can
// trust the next one before it signs (POST /admin/keys).
let keys = [{ certificate: cfg.certificate, privateKey: cfg.privateKey }];
let idpCache = new Map();

function idpSettings(signingCert, encrypt) {
  return {
    entityID: cfg.entityID || `${base}/metadata`,
    signingCert,
    privateKey: keys[0].privateKey,
    wantAuthnRequestsSigned: !!cfg.wantAuthnRequestsSigned,
    nameIDFormat: [NS.emailAddress],
    singleSignOnService: [
      { Binding: NS.redirect, Location: `${base}/sso` },
      { Binding: NS.post, Location: `${base}/sso` },
    ],
    isAssertionEncrypted: encrypt,
    requestSignatureAlgorithm: NS.rsaSHA256,
  };
}

// idp is the samlify entity that signs: it knows only the current
// certificate, which goes into the signatures' KeyInfo.
function idp(encrypt) {
  if (!idpCache.has(encrypt)) {
    idpCache.set(encrypt, samlify.IdentityProvider(idpSettings(keys[0].certificate, encrypt)));
  }
  return idpCache.get(encrypt);
}

function metadata() {
  const certs = keys.map((k) => k.certificate);
  return samlify.IdentityProvider(idpSettings(certs.length === 1 ? certs[0] : certs, false)).getMetadata();
}

// serviceProvider builds the samlify SP for entityID, with the signing
// choice of the settings: samlify signs the assertion when the SP metadata
// wants signed assertions, and the response when the SP entity asks for a
// signed message or does not want signed assertions.
function serviceProvider(entityID) {
  let xml = sps.get(entityID);
  if (!xml) {
    const err = new Error(`unknown service provider ${entityID}: POST its metadata to /admin/sp first`);
    err.status = 400;
    throw err;
  }
  const wantAssertion = settings.sign !== 'response';
  xml = xml.replace(/WantAssertionsSigned="[^"]*"/, `WantAssertionsSigned="${wantAssertion}"`);
  if (wantAssertion && !/WantAssertionsSigned=/.test(xml)) {
    xml = xml.replace(/<([\w-]+:)?SPSSODescriptor\b/, (m) => `${m} WantAssertionsSigned="true"`);
  }
  return samlify.ServiceProvider({ metadata: xml, wantMessageSigned: settings.sign !== 'assertion' });
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function chooseUser(queryUser) {
  const name = queryUser || settings.nextUser || cfg.defaultUser || users.keys().next().value;
  return { name, user: users.get(name) };
}

// acsURL is the SP's HTTP-POST AssertionConsumerService: the one the
// AuthnRequest names when it is in the metadata, else the metadata's.
function acsURL(sp, requested) {
  const all = [sp.entityMeta.getAssertionConsumerService()].flat().filter(Boolean);
  const post = all.filter((a) => a.binding === NS.post).map((a) => a.location);
  if (requested && post.includes(requested)) return requested;
  if (!post.length) throw new Error('SP metadata has no HTTP-POST AssertionConsumerService');
  return post[0];
}

function responseXML({ user, sp, acs, inResponseTo, issuer }) {
  const now = new Date();
  const iso = (d) => d.toISOString();
  const later = new Date(now.getTime() + settings.validSeconds * 1000);
  const irt = inResponseTo ? ` InResponseTo="${esc(inResponseTo)}"` : '';
  const audience = settings.audience || sp.entityMeta.getEntityID();
  const sessionEnd = user.sessionSeconds
    ? ` SessionNotOnOrAfter="${iso(new Date(now.getTime() + user.sessionSeconds * 1000))}"` : '';
  const attrs = Object.entries(user.attributes ?? {}).map(([name, values]) => `<saml:Attribute Name="${esc(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${
    [values].flat().map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('')
  }</saml:Attribute>`).join('');
  const id = `_${crypto.randomUUID()}`;
  const xml = `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${iso(now)}" Destination="${esc(acs)}"${irt}>`
    + `<saml:Issuer>${esc(issuer)}</saml:Issuer>`
    + `<samlp:Status><samlp:StatusCode Value="${NS.success}"/></samlp:Status>`
    + `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:saml="${NS.assertion}" ID="_${crypto.randomUUID()}" Version="2.0" IssueInstant="${iso(now)}">`
    + `<saml:Issuer>${esc(issuer)}</saml:Issuer>`
    + `<saml:Subject><saml:NameID Format="${esc(user.nameIDFormat || NS.emailAddress)}">${esc(user.nameID)}</saml:NameID>`
    + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${iso(later)}" Recipient="${esc(acs)}"${irt}/></saml:SubjectConfirmation></saml:Subject>`
    + `<saml:Conditions NotBefore="${iso(now)}" NotOnOrAfter="${iso(later)}"><saml:AudienceRestriction><saml:Audience>${esc(audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
    + `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="_${crypto.randomUUID()}"${sessionEnd}><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
    + (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '')
    + '</saml:Assertion></samlp:Response>';
  return { id, context: xml };
}

// failureXML is an unsigned Response with an error status and no assertion,
// as IdPs send when they cannot or will not log the person in.
function failureXML({ acs, inResponseTo, issuer, status, message }) {
  const irt = inResponseTo ? ` InResponseTo="${esc(inResponseTo)}"` : '';
  const [top, sub] = status.startsWith(NS.responder) || status.endsWith(':Requester') ? [status, ''] : [NS.responder, status];
  return `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="_${crypto.randomUUID()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${esc(acs)}"${irt}>`
    + `<saml:Issuer>${esc(issuer)}</saml:Issuer>`
    + `<samlp:Status><samlp:StatusCode Value="${esc(top)}">${sub ? `<samlp:StatusCode Value="${esc(sub)}"/>` : ''}</samlp:StatusCode>`
    + `<samlp:StatusMessage>${esc(message)}</samlp:StatusMessage></samlp:Status></samlp:Response>`;
}

// respond answers the browser with the auto-submitting form.
async function respond(res, { sp, requested, inResponseTo, relayState, queryUser }) {
  const acs = acsURL(sp, requested);
  const encrypt = settings.encryptAssertions;
  const entity = idp(encrypt);
  const issuer = entity.entityMeta.getEntityID();
  const { name, user } = chooseUser(queryUser);
  let samlResponse;
  if (settings.error || !user) {
    const xml = failureXML({
      acs, inResponseTo, issuer,
      status: settings.error || 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
      message: user ? 'refused by the test IdP' : `unknown test user ${name}`,
    });
    samlResponse = Buffer.from(xml).toString('base64');
  } else {
    const { context } = await entity.createLoginResponse(sp, {}, 'post', { email: user.nameID }, {
      customTagReplacement: () => responseXML({ user, sp, acs, inResponseTo, issuer }),
    });
    samlResponse = context;
  }
  const relay = relayState ? `<input type="hidden" name="RelayState" value="${esc(relayState)}"/>` : '';
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html><head><title>Signing in…</title></head>`
    + `<body onload="document.forms[0].submit()"><form method="post" action="${esc(acs)}">`
    + `<input type="hidden" name="SAMLResponse" value="${esc(samlResponse)}"/>${relay}`
    + '<noscript><button type="submit">Continue</button></noscript></form></body></html>');
}

// requestIssuer reads the Issuer of an AuthnRequest before samlify parses
// it, since samlify needs to be told which SP sent it.
function requestIssuer(samlRequest, deflated) {
  const raw = Buffer.from(samlRequest, 'base64');
  const xml = (deflated ? zlib.inflateRawSync(raw) : raw).toString('utf8');
  const m = xml.match(/<(?:[\w-]+:)?Issuer\b[^>]*>\s*([^<]+?)\s*<\//);
  if (!m) throw Object.assign(new Error('AuthnRequest has no Issuer'), { status: 400 });
  return m[1].replace(/&amp;/g, '&');
}

// octetString is the signed part of a Redirect-binding query, exactly as
// the SP encoded it (saml-bindings §3.4.4.1).
function octetString(rawQuery) {
  const parts = new Map(rawQuery.split('&').map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv];
  }));
  return ['SAMLRequest', 'RelayState', 'SigAlg'].filter((k) => parts.has(k)).map((k) => parts.get(k)).join('&');
}

async function sso(req, res, url) {
  let parsed;
  let sp;
  if (req.method === 'GET') {
    const query = Object.fromEntries(url.searchParams);
    if (!query.SAMLRequest) throw Object.assign(new Error('no SAMLRequest'), { status: 400 });
    sp = serviceProvider(requestIssuer(query.SAMLRequest, true));
    parsed = await idp(false).parseLoginRequest(sp, 'redirect', { query, octetString: octetString(url.search.slice(1)) });
    return respond(res, {
      sp, requested: parsed.extract.request?.assertionConsumerServiceURL, inResponseTo: parsed.extract.request?.id,
      relayState: query.RelayState, queryUser: query.user,
    });
  }
  const body = Object.fromEntries(new URLSearchParams(await readBody(req)));
  if (!body.SAMLRequest) throw Object.assign(new Error('no SAMLRequest'), { status: 400 });
  sp = serviceProvider(requestIssuer(body.SAMLRequest, false));
  parsed = await idp(false).parseLoginRequest(sp, 'post', { body });
  return respond(res, {
    sp, requested: parsed.extract.request?.assertionConsumerServiceURL, inResponseTo: parsed.extract.request?.id,
    relayState: body.RelayState, queryUser: url.searchParams.get('user'),
  });
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

async function handle(req, res) {
  const url = new URL(req.url, base);
  switch (url.pathname) {
    case '/metadata':
      return send(res, 200, 'application/samlmetadata+xml', metadata());
    case '/sso':
      return sso(req, res, url);
    case '/idp-initiated': {
      const entityID = url.searchParams.get('sp') || (sps.size === 1 ? sps.keys().next().value : '');
      return respond(res, {
        sp: serviceProvider(entityID),
        relayState: url.searchParams.get('RelayState') || undefined,
        queryUser: url.searchParams.get('user'),
      });
    }
    case '/admin/sp':
      if (req.method !== 'POST') break;
      return send(res, 200, 'application/json', JSON.stringify({ entityID: addSP(await readBody(req)) }));
    case '/admin/keys': {
      if (req.method !== 'POST') break;
      const body = JSON.parse(await readBody(req));
      if (!body.certificate || !body.privateKey) return send(res, 400, 'application/json', '{"error":"certificate and privateKey are required"}');
      const pair = { certificate: body.certificate, privateKey: body.privateKey };
      keys = body.retire ? [pair] : [pair, ...keys];
      idpCache = new Map();
      return send(res, 200, 'application/json', JSON.stringify({ certificates: keys.length }));
    }
    case '/admin/settings': {
      if (req.method !== 'POST') break;
      const body = JSON.parse((await readBody(req)) || '{}');
      for (const k of ['nextUser', 'encryptAssertions', 'sign', 'error', 'audience', 'validSeconds']) {
        if (k in body) settings[k] = body[k] === null ? undefined : body[k];
      }
      settings.validSeconds ??= 300;
      settings.sign ??= 'assertion';
      return send(res, 200, 'application/json', JSON.stringify(settings));
    }
    case '/admin/users': {
      if (req.method !== 'POST') break;
      const u = JSON.parse(await readBody(req));
      if (!u.nameID) return send(res, 400, 'application/json', '{"error":"nameID is required"}');
      users.set(u.nameID, u);
      return send(res, 200, 'application/json', JSON.stringify(u));
    }
    default:
  }
  return send(res, 404, 'text/plain', 'not found\n');
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(`saml ${req.method} ${req.url.slice(0, 80)}:`, err);
    if (!res.headersSent) send(res, err.status ?? 400, 'text/plain', `saml idp: ${err.message ?? err}\n`);
    else res.end();
  });
});

server.listen(Number(cfg.port ?? process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  base = `http://127.0.0.1:${port}`;
  const entityID = idp(false).entityMeta.getEntityID();
  process.stdout.write(`${JSON.stringify({
    entityID, port, metadataURL: `${base}/metadata`, ssoURL: `${base}/sso`,
  })}\n`);
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
