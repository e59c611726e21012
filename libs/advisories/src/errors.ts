/** The db folder has no usable OSV data. The message tells the user how to get some. */
export class AdvisoryDbEmptyError extends Error {
  constructor(
    readonly dbDir: string,
    detail?: string,
  ) {
    super(
      `advisory database ${dbDir} has no usable OSV records${detail ? ` (${detail})` : ''}. ` +
        'Download one with "strata db update" (OSV all.zip dumps per ecosystem), ' +
        'or point --db (or STRATA_DB) at a folder of OSV *.json records or all.zip files.',
    );
    this.name = 'AdvisoryDbEmptyError';
  }
}

/** A download or update of the advisory database failed for one ecosystem. */
export class AdvisoryUpdateError extends Error {
  constructor(
    readonly ecosystem: string,
    readonly url: string,
    message: string,
  ) {
    super(`updating ${ecosystem} from ${url}: ${message}`);
    this.name = 'AdvisoryUpdateError';
  }
}
