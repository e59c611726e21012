// Test-only entry of a stage service, for the child processes of the distributed tests: what
// each service's main.ts does, plus a crash point. `STRATA_TEST_CRASH_POINT=<TestPoint>` makes
// the process SIGKILL itself the first time it reaches that point. Only this file reads the
// variable; the services' own entry points never set a test point, so production cannot reach it.
import { runServiceMain } from '@strata/service-runtime';
import { analyzerSettings, startAnalyzer } from '@strata/analyzer-service';
import { fetcherSettings, startFetcher } from '@strata/fetcher-service';
import { matcherSettings, startMatcher } from '@strata/matcher-service';
import { mergerSettings, startMerger } from '@strata/merger-service';
import type { StartOptions, TestPointHook } from '@strata/stage-runtime';

const crashPoint = process.env.STRATA_TEST_CRASH_POINT;
const testPoint: TestPointHook = async (point, scanId) => {
  if (point !== crashPoint) return;
  process.stderr.write(`${JSON.stringify({ msg: 'test crash point reached', point, scanId })}\n`);
  process.kill(process.pid, 'SIGKILL');
  await new Promise(() => undefined); // the signal is on its way: do nothing more
};
const options: StartOptions = crashPoint ? { testPoint } : {};

const mains: Record<string, (service: string) => Promise<void>> = {
  fetcher: (service) => runServiceMain({ service, settings: fetcherSettings, start: (config) => startFetcher(config, options) }),
  analyzer: (service) => runServiceMain({ service, settings: analyzerSettings, start: (config) => startAnalyzer(config, options) }),
  merger: (service) => runServiceMain({ service, settings: mergerSettings, start: (config) => startMerger(config, options) }),
  matcher: (service) => runServiceMain({ service, settings: matcherSettings, start: (config) => startMatcher(config, options) }),
};
const kind = process.argv[2];
const main = kind !== undefined && Object.hasOwn(mains, kind) ? mains[kind] : undefined;
if (!main) {
  process.stderr.write(`usage: service-main.ts fetcher|analyzer|merger|matcher (got ${JSON.stringify(kind)})\n`);
  process.exit(2);
}
await main(kind!);
