// Drives the real @flipt-io/flipt-client-js (WASM engine) against a Flagdeck evaluator and prints JSON lines.
// usage: node client.mjs <url> <namespace> <environment> <token|jwt:TOKEN|-> <mode> [expected]
//   mode "oracle": evaluate user-1..user-20 for the four ns1 flags, then refresh() once (expects a 304)
//   mode "watch":  print {"ready": marker}, then poll env-marker until it equals [expected] (10 s at most)
import { FliptClient, ErrorStrategy } from '@flipt-io/flipt-client-js';

const [url, namespace, environment, token, mode, expected] = process.argv.slice(2);
const options = { url, namespace, environment, updateInterval: 1, errorStrategy: ErrorStrategy.Fail };
if (token.startsWith('jwt:')) options.authentication = { jwtToken: token.slice(4) };
else if (token !== '-') options.authentication = { clientToken: token };
const origLog = console.log;
console.log = () => {};  // the WASM loader prints a deprecation notice on stdout
const out = (value) => origLog(JSON.stringify(value));
const client = await FliptClient.init(options);
const marker = () => client.evaluateVariant({ flagKey: 'env-marker', entityId: 'u', context: {} }).variantKey;

if (mode === 'oracle') {
  const results = {};
  for (let i = 1; i <= 20; i++) {
    const user = `user-${i}`;
    const b = (flagKey) => client.evaluateBoolean({ flagKey, entityId: user, context: {} });
    const v = (flagKey) => client.evaluateVariant({ flagKey, entityId: user, context: { plan: 'pro' } });
    results[user] = [b('bool-rollout'), b('bool-rollout-on'), v('variant-seg'), v('variant-seg-dflt')];
  }
  let missing = null;
  try { client.evaluateBoolean({ flagKey: 'nope', entityId: 'u', context: {} }); } catch (e) { missing = String(e.message || e); }
  const changed = await client.refresh();
  out({ results, missing, changed, marker: marker(), flags: client.listFlags().map((f) => f.key).sort() });
} else {
  out({ ready: marker() });
  const deadline = Date.now() + 10000;
  let seen = marker();
  while (seen !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    seen = marker();
  }
  out({ seen });
}
client.close();
process.exit(0);
