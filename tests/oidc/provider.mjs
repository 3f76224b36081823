// A real OpenID provider (panva's oidc-provider, OpenID Certified) for the end-to-end tests of
// the OIDC device login: issuer http://127.0.0.1:PORT, the device flow (RFC 8628) enabled, one
// public native client, any login accepted by the provider's own development interactions, RS256
// signing keys generated at start, refresh tokens issued.
//
// ./scripts/registries installs the package into
// ${HYPERFORGE_TEST_CACHE:-$HOME/.cache/hyperforge-tests}/oidc-provider; tests/src/oidc_provider.rs
// starts this script with OIDC_PROVIDER_HOME set to that directory (ES modules ignore NODE_PATH)
// and reads the bound port from the first line of stdout.
//
// Arguments (all optional but --client-id):
//   --client-id ID          the client's id
//   --port N                the port to bind (0, the default, picks a free one)
//   --device-ttl S          device code lifetime (default 600)
//   --id-token-ttl S        id_token lifetime (default 3600)
//   --access-token-ttl S    access token lifetime (default 3600)
//   --interval S            the `interval` added to device authorization answers (oidc-provider
//                           sends none, so clients would poll every 5 s)
//   --clock-skew S          shifts the provider's clock by S seconds (negative: tokens issued
//                           "in the past", e.g. an id_token already expired when it arrives)
//   --slow-down-once        answers the first device_code poll with `slow_down`, as a provider
//                           that throttles would (oidc-provider itself never sends it)
// A fresh RSA key is generated at every start: restarting on the same port with the same issuer
// is how the tests rotate the provider's keys.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    'client-id': { type: 'string' },
    port: { type: 'string', default: '0' },
    'device-ttl': { type: 'string', default: '600' },
    'id-token-ttl': { type: 'string', default: '3600' },
    'access-token-ttl': { type: 'string', default: '3600' },
    interval: { type: 'string', default: '1' },
    'clock-skew': { type: 'string', default: '0' },
    'slow-down-once': { type: 'boolean', default: false },
  },
});
if (!args['client-id']) {
  console.error('provider.mjs: --client-id is required');
  process.exit(2);
}
const seconds = (name) => {
  const value = Number.parseInt(args[name], 10);
  if (!Number.isFinite(value)) {
    console.error(`provider.mjs: --${name} wants a number`);
    process.exit(2);
  }
  return value;
};

const skewMs = seconds('clock-skew') * 1000;
if (skewMs !== 0) {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + skewMs;
}

const home = process.env.OIDC_PROVIDER_HOME;
if (!home) {
  console.error('provider.mjs: OIDC_PROVIDER_HOME (the install directory) is not set');
  process.exit(2);
}
const entry = join(home, 'node_modules', 'oidc-provider', 'lib', 'index.js');
const { default: Provider } = await import(pathToFileURL(entry).href);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const http = await import('node:http');
const listener = http.createServer();
await new Promise((resolve) => listener.listen(seconds('port'), '127.0.0.1', resolve));
const { port } = listener.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: args['client-id'],
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomUUID()] },
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  conformIdTokenClaims: false,
  features: {
    deviceFlow: { enabled: true },
    devInteractions: { enabled: true },
  },
  ttl: {
    DeviceCode: seconds('device-ttl'),
    IdToken: seconds('id-token-ttl'),
    AccessToken: seconds('access-token-ttl'),
    RefreshToken: 86400,
    Grant: 86400,
    Session: 86400,
    Interaction: 3600,
  },
  issueRefreshToken: async () => true,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: `User ${id}`, email: `${id}@example.test` };
      },
    };
  },
});

const interval = seconds('interval');
let slowDownPending = args['slow-down-once'];
provider.use(async (ctx, next) => {
  const isDevicePoll = ctx.method === 'POST' && ctx.path === '/token'
    && ctx.is('application/x-www-form-urlencoded');
  if (isDevicePoll && slowDownPending) {
    slowDownPending = false;
    // Read the request first: answering with its body unread makes node reset the connection.
    for await (const chunk of ctx.req) void chunk;
    ctx.status = 400;
    ctx.body = { error: 'slow_down', error_description: 'polling too fast' };
    console.error('answered a token request with slow_down');
    return;
  }
  await next();
  if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body) {
    ctx.body.interval = interval;
  }
  if (ctx.path === '/token') {
    const answer = ctx.body && ctx.body.error ? ctx.body.error : `${ctx.status}`;
    console.error(`token request answered: ${answer}`);
  }
});

listener.on('request', provider.callback());
console.log(port);
console.error(`oidc-provider listening at ${issuer}`);
