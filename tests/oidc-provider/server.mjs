// A second, independent OpenID provider for saslgate's integration tests: panva's
// oidc-provider (a certified OpenID Connect implementation) on 127.0.0.1.
//
//   node server.mjs [port]      port 0 (the default) lets the OS choose
//
// When it is ready it prints one JSON line on stdout, e.g.
//   {"issuer":"http://127.0.0.1:40123","client_id":"zk-client","client_secret":"...",...}
// and it exits when stdin closes or on SIGTERM/SIGINT, so a test that dies does not leave it
// running.
//
// What it offers (all per run; keys and secrets are random each start):
// - discovery at {issuer}/.well-known/openid-configuration, JWKS (one RS256 key),
// - the client-credentials grant (RFC 6749 §4.4) for `zk-client`,
// - resource indicators (RFC 8707): `urn:saslgate:zookeeper` (the default resource) yields an
//   RS256 JWT access token (RFC 9068) with `aud: "zookeeper"`, `scope: "zk"`, lifetime 300 s;
//   `urn:saslgate:zookeeper-opaque` yields an opaque token with the same audience,
// - introspection (RFC 7662), authenticated as the `zookeeper` client.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const AUDIENCE = 'zookeeper';
const RESOURCE_JWT = 'urn:saslgate:zookeeper';
const RESOURCE_OPAQUE = 'urn:saslgate:zookeeper-opaque';
const ACCESS_TOKEN_TTL_SECS = 300;

const port = Number.parseInt(process.argv[2] ?? '0', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid port: ${process.argv[2]}`);
  process.exit(64);
}

const secret = () => randomBytes(24).toString('base64url');
const clientSecret = secret();
const introspectionSecret = secret();

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: `rs256-${randomBytes(6).toString('hex')}`,
  alg: 'RS256',
  use: 'sig',
};

const server = createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'zk-client',
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'zk',
    },
    {
      client_id: 'zookeeper',
      client_secret: introspectionSecret,
      grant_types: [],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [secret()] },
  scopes: ['openid', 'zk'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE_JWT,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (resourceIndicator === RESOURCE_JWT) {
          return {
            scope: 'zk',
            audience: AUDIENCE,
            accessTokenTTL: ACCESS_TOKEN_TTL_SECS,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        }
        if (resourceIndicator === RESOURCE_OPAQUE) {
          return {
            scope: 'zk',
            audience: AUDIENCE,
            accessTokenTTL: ACCESS_TOKEN_TTL_SECS,
            accessTokenFormat: 'opaque',
          };
        }
        throw new Provider.errors.InvalidTarget();
      },
    },
  },
  ttl: { ClientCredentials: ACCESS_TOKEN_TTL_SECS },
});
server.on('request', provider.callback());

const shutdown = () => server.close(() => process.exit(0));
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('error', shutdown);
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({
    issuer,
    client_id: 'zk-client',
    client_secret: clientSecret,
    introspection_client_id: 'zookeeper',
    introspection_client_secret: introspectionSecret,
    audience: AUDIENCE,
    resource: RESOURCE_JWT,
    opaque_resource: RESOURCE_OPAQUE,
    kid: signingKey.kid,
  })}\n`,
);
