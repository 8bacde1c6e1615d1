// A real OpenID Provider for the tests: the certified `oidc-provider` package, configured from one
// JSON document (argv[2], or the OIDC_PROVIDER_CONFIG environment variable) that
// tests/support/oidc.py writes. Nothing here is a stand-in: discovery, JWKS, the authorization
// endpoint with its (development) login and consent pages, PKCE and the token endpoint are the
// package's own.
//
// Configuration (all optional except clients):
//   {
//     "port": 0,                         // 0: the kernel picks a free port on 127.0.0.1
//     "audience": "govcloud-api",        // the `aud` of access tokens, which are JWTs
//     "resource": "urn:govcloud:resource:govcloud-api", // its resource indicator (an absolute URI);
//                                        // the default: the audience if absolute, else this form
//     "api_scopes": ["api"],             // scopes the API resource server accepts
//     "access_token_ttl": 3600, "id_token_ttl": 3600,
//     "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["http://127.0.0.1:PORT/cb"],
//                  "post_logout_redirect_uris": [...], "token_endpoint_auth_method": "client_secret_basic"}],
//     "accounts": {"alice": {"name": "Alice Example", "email": "alice@city.example"}},
//     "exit_with_stdin": false           // true: stop when standard input closes
//   }
// Any login name is an account: it becomes the `sub`; `email` defaults to `<sub>@example.test` and
// `name` to the login name, unless "accounts" says otherwise.
//
// Once listening, one JSON line goes to stdout: {"issuer": "http://127.0.0.1:PORT", "port": PORT,
// "resource": "..."}.
// SIGTERM or SIGINT stops it.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const raw = process.argv[2] ?? process.env.OIDC_PROVIDER_CONFIG;
if (!raw) {
  console.error('usage: node provider.mjs CONFIG_JSON (or OIDC_PROVIDER_CONFIG)');
  process.exit(2);
}
const config = JSON.parse(raw);
const audience = config.audience ?? 'govcloud-api';
// RFC 8707 wants the resource indicator to be an absolute URI; the audience (`aud`) need not be one.
const resource = config.resource ?? (/^[a-z][a-z0-9+.-]*:/i.test(audience) ? audience : `urn:govcloud:resource:${audience}`);
const apiScopes = config.api_scopes ?? ['api'];
const accessTokenTTL = config.access_token_ttl ?? 3600;
const idTokenTTL = config.id_token_ttl ?? 3600;
const accounts = config.accounts ?? {};

// A fresh signing key for every run: nothing secret is committed, and a token from an earlier run
// never verifies against this run's JWKS.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

function claimsOf(sub) {
  const extra = accounts[sub] ?? {};
  return {
    sub,
    email: extra.email ?? `${sub}@example.test`,
    email_verified: true,
    name: extra.name ?? sub,
  };
}

const clients = config.clients.map((c) => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  redirect_uris: c.redirect_uris,
  post_logout_redirect_uris: c.post_logout_redirect_uris ?? [],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
}));

const configuration = {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'email', 'profile', ...apiScopes],
  // The ID token of a code flow carries the profile claims too (not only the userinfo endpoint).
  conformIdTokenClaims: false,
  async findAccount(_ctx, id) {
    return { accountId: id, async claims() { return claimsOf(id); } };
  },
  // Every client must use PKCE (S256), confidential ones included.
  pkce: { required: () => true },
  ttl: {
    AccessToken: accessTokenTTL,
    IdToken: idTokenTTL,
    AuthorizationCode: 60,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
    RefreshToken: 86400,
  },
  // The API's access tokens carry who signed in, as an IdP's would.
  async extraTokenClaims(_ctx, token) {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const { email, name } = claimsOf(token.accountId);
    return { email, name };
  },
  features: {
    devInteractions: { enabled: true }, // the package's own login and consent pages
    introspection: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A plain authorization-code flow (no `resource` parameter) is bound to the API...
      defaultResource: async () => resource,
      // ...and the token endpoint issues the access token for it.
      useGrantedResource: async () => true,
      async getResourceServerInfo(_ctx, resourceIndicator) {
        if (resourceIndicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: apiScopes.join(' '),
          audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  clientBasedCORS: () => false,
};

const server = http.createServer();
server.listen(config.port ?? 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, configuration);
  for (const event of ['server_error', 'grant.error', 'authorization.error', 'end_session.error']) {
    provider.on(event, (_ctx, err) => console.error(`[oidc-provider] ${event}:`, err?.message ?? err, err?.error_description ?? ''));
  }
  // The development login and consent pages stay the package's own, with two changes so that a
  // browser test sees no error and reaches no outside host: their layout's web-font @import
  // (fonts.googleapis.com) is dropped, and /favicon.ico answers 204 instead of 404.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/favicon.ico') {
      ctx.status = 204;
      return;
    }
    await next();
    if (typeof ctx.body === 'string' && ctx.type === 'text/html') {
      ctx.body = ctx.body.replace(/^\s*@import url\(https?:[^)]*\);\s*$/m, '');
    }
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port, resource })}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, stop);
// With "exit_with_stdin": true the provider also stops when its standard input closes, so it does
// not outlive a test process that was killed before it could stop it.
if (config.exit_with_stdin) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
