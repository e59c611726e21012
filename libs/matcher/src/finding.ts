import type { InventoryPackage, LayerRef, Severity } from '@strata/model';
import type { VendorRating } from '@strata/advisories';
import type { CvssScore } from './cvss.js';
import type { SeveritySource } from './severity.js';

export type FindingStatus = 'fixed' | 'affected';
export type TargetClass = 'os-pkgs' | 'lang-pkgs';

/** Where the advisory data came from (Trivy's DataSource). */
export interface DataSource {
  id: string;
  name: string;
  url: string;
}

/** One vulnerability of one installed package. */
export interface Finding {
  /** the CVE when the matched records map to exactly one CVE, else the (primary) record id */
  vulnerabilityId: string;
  /** the OSV record ids behind this finding, sorted */
  vendorIds: string[];
  /** every CVE the records name */
  cves: string[];
  pkg: InventoryPackage;
  pkgName: string;
  /** name@installedVersion */
  pkgId: string;
  /** the installed (binary) version, as the package manager prints it; rpm: [epoch:]version-release */
  installedVersion: string;
  /** the fixed version(s), comma-separated; empty when there is no fix */
  fixedVersion: string;
  status: FindingStatus;
  severity: Severity;
  severitySource: SeveritySource;
  /** the vendor rating, when the severity came from one */
  vendorSeverity?: VendorRating;
  layer: LayerRef;
  primaryUrl: string;
  title: string;
  description: string;
  /** scored CVSS vectors of the records, preferred first */
  cvss: CvssScore[];
  references: string[];
  publishedDate?: string;
  lastModifiedDate?: string;
  dataSource: DataSource;
  /** "<family> <version>" for OS packages; the manifest/binary path for language packages */
  target: string;
  targetClass: TargetClass;
  /** Trivy's result Type: the OS family, or node-pkg / python-pkg / gobinary / jar */
  targetType: string;
}
