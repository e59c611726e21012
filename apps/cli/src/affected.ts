// `strata affected <advisory id> | --package <ecosystem>/<name> --server host:port`: asks a
// gateway which images an advisory hits right now, or which hold a package (the distributed
// pipeline's reverse index). Nothing is scanned.
import { toJson } from '@bufbuild/protobuf';
import { InvalidArgumentError } from 'commander';
import { ListAffectedImagesResponseSchema, Severity, type ListAffectedImagesResponse } from '@strata/contracts';
import { connectGateway, describeRpc, type GatewayAddress } from './server-client.js';
import { columnFormatter, shortDigest } from './columns.js';

export type AffectedQuery = { advisoryId: string } | { ecosystem: string; name: string };

/** "npm/lodash", "debian:12/openssl", "go/golang.org/x/net": the ecosystem key has no '/', the name may. */
export function parsePackageQuery(text: string): { ecosystem: string; name: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1)
    throw new InvalidArgumentError(`--package takes <ecosystem>/<name>, e.g. npm/lodash or debian:12/openssl; got "${text}"`);
  return { ecosystem: text.slice(0, slash), name: text.slice(slash + 1) };
}

export async function listAffected(address: GatewayAddress, query: AffectedQuery): Promise<ListAffectedImagesResponse> {
  const connection = connectGateway(address);
  try {
    const request =
      'advisoryId' in query ? { query: { case: 'advisoryId' as const, value: query.advisoryId } } : { query: { case: 'package' as const, value: query } };
    // every page, as one answer
    let answer: ListAffectedImagesResponse | undefined;
    let pageToken = '';
    do {
      const page = await connection.client.listAffectedImages({ ...request, pageToken }, { timeoutMs: 120_000 }).catch((error: unknown) => {
        throw describeRpc(error, address.server);
      });
      if (answer) answer.images.push(...page.images);
      else answer = page;
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    answer.nextPageToken = '';
    return answer;
  } finally {
    connection.close();
  }
}

export function renderAffected(response: ListAffectedImagesResponse, format: 'table' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(toJson(ListAffectedImagesResponseSchema, response), null, 2)}\n`;
  const header = ['IMAGE', 'PLATFORM', 'DIGEST', 'PACKAGE', 'INSTALLED', 'FIXED', 'SEVERITY', 'LAYER', 'PATH'];
  const rows = response.images.flatMap((image) => {
    const platform = image.platform ? [image.platform.os, image.platform.architecture, image.platform.variant].filter(Boolean).join('/') : '';
    return image.packages.map((p) => [
      image.imageRef,
      platform,
      shortDigest(image.manifestDigest),
      `${p.ecosystem}/${p.name}`,
      p.installedVersion,
      p.fixedVersion,
      p.severity === Severity.UNSPECIFIED ? '' : Severity[p.severity],
      shortDigest(p.layers[0]?.digest ?? ''),
      p.path,
    ]);
  });
  const line = columnFormatter(header, rows);
  const db = response.advisoryDbVersion ? ` (advisory DB ${shortDigest(response.advisoryDbVersion)})` : '';
  return `${[`${response.images.length} image(s)${db}`, '', line(header), ...rows.map(line)].join('\n')}\n`;
}
