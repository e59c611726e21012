// Runs the test token server in the foreground (used by infra/local/images.sh to push to the
// token-auth registry):  node --import tsx libs/oci/src/testing/token-server-main.ts
import { startTokenServer } from './token-server.js';

const keyPath = process.env.STRATA_TEST_TOKEN_KEY;
const certPath = process.env.STRATA_TEST_TOKEN_CERT;
if (!keyPath || !certPath) {
  console.error('token server: STRATA_TEST_TOKEN_KEY and STRATA_TEST_TOKEN_CERT must be set (source <(bash infra/local/env.sh))');
  process.exit(2);
}
const server = await startTokenServer({ keyPath, certPath });
console.log(`token server ${server.shared ? 'already running' : 'listening'} at ${server.url}`);
if (server.shared) process.exit(0);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
