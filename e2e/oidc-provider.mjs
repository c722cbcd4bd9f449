// A real OpenID Connect provider for the unified-login tests (统一身份认证): the npm package
// `oidc-provider` with one static client (PKCE required), and test identities whose claims
// carry a 统一社会信用代码 (`uscc`) or a staff id (`staff_id`). Logins go through the package's
// development interactions (a login form that takes the account name; any password).
//
//   REDIRECT_URL=http://127.0.0.1:8080/login/oidc/callback node e2e/oidc-provider.mjs
//
// Listens on 127.0.0.1, on PORT (default: any free port), and prints one line
// `OIDC_ISSUER=http://127.0.0.1:PORT` once it serves. Client: `kechuang` / `kechuang-test-secret`.
// Test identities (login names): `hunnan-legal` (uscc 91210112MA0XK8R34Y), `gaotang-legal`
// (uscc 91371526MA3Y4PJ126), `staff-0042` (staff_id SY-0042), `stranger` (uscc of no
// organisation on the platform: 91210112MA0XK8R4XD), `nobody` (no claim at all).
import http from 'node:http';
import Provider from 'oidc-provider';

const redirect = process.env.REDIRECT_URL;
if (!redirect) {
  console.error('REDIRECT_URL is required (the platform callback, e.g. http://127.0.0.1:8080/login/oidc/callback)');
  process.exit(2);
}

const identities = {
  'hunnan-legal': { uscc: '91210112MA0XK8R34Y', name: '浑南示例法人' },
  'gaotang-legal': { uscc: '91371526MA3Y4PJ126', name: '高唐示例法人' },
  'staff-0042': { staff_id: 'SY-0042', name: '财务二' },
  stranger: { uscc: '91210112MA0XK8R4XD', name: '未开通单位' },
  nobody: { name: '无标识' },
};

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'kechuang',
        client_secret: 'kechuang-test-secret',
        redirect_uris: [redirect],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'kechuang'],
    claims: { openid: ['sub'], profile: ['name'], kechuang: ['uscc', 'staff_id'] },
    // The platform reads the mapping claims from the ID token.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['kechuang-test-cookie-key'] },
    findAccount: async (_ctx, id) => {
      const claims = identities[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
    // A first-party client: no consent screen (the grant is given as asked).
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile kechuang');
      await grant.save();
      return grant;
    },
  });
  server.on('request', provider.callback());
  console.log(`OIDC_ISSUER=${issuer}`);
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
