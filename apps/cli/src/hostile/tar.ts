// The hostile suite's short names for @strata/testing's byte-level tar writer (the one tar-header
// writer of the repo: sizes, typeflags and checksums that tar-stream would refuse to write).
export { TAR_EOF as EOF_MARKER, tarMember as entry, tarHeader as header, tarPad as pad, paxHeader, paxRecord, rawTar as tar } from '@strata/testing';
export type { RawTarEntry as Entry, TarHeaderFields as HeaderFields, TarType } from '@strata/testing';
