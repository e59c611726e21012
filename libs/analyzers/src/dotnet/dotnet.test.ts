// .NET: *.deps.json, packages.lock.json, packages.config. No .NET SDK runs on this machine and the
// NuGet registry is out of reach, so these manifests are written here in the SDK's layout; there is
// no oracle beyond the rules the SDK documents (library types, runtime assets, project references).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzeEntries, namesAt } from '../testing/index.js';

const depsJson = {
  runtimeTarget: { name: '.NETCoreApp,Version=v8.0/linux-x64', signature: '' },
  targets: {
    '.NETCoreApp,Version=v8.0': {},
    '.NETCoreApp,Version=v8.0/linux-x64': {
      'CoverageApp/1.0.0': { dependencies: { 'Newtonsoft.Json': '12.0.1', 'Lib.Project': '2.0.0' }, runtime: { 'CoverageApp.dll': {} } },
      'Lib.Project/2.0.0': { runtime: { 'Lib.Project.dll': {} } },
      'Newtonsoft.Json/12.0.1': { runtime: { 'lib/netstandard2.0/Newtonsoft.Json.dll': { assemblyVersion: '12.0.0.0' } } },
      'Compile.Only/1.0.0': { dependencies: {} },
      'Native.Thing/3.1.0': { native: { 'runtimes/linux-x64/native/libthing.so': {} } },
      'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.1': { runtime: { 'System.Private.CoreLib.dll': {} } },
    },
  },
  libraries: {
    'CoverageApp/1.0.0': { type: 'project', serviceable: false, sha512: '' },
    'Lib.Project/2.0.0': { type: 'project', serviceable: false, sha512: '' },
    'Newtonsoft.Json/12.0.1': { type: 'package', serviceable: true, sha512: 'sha512-x', path: 'newtonsoft.json/12.0.1' },
    'Compile.Only/1.0.0': { type: 'package', serviceable: true },
    'Native.Thing/3.1.0': { type: 'package', serviceable: true },
    'Not.In.Target/1.0.0': { type: 'package', serviceable: true },
    'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.1': { type: 'runtimepack', serviceable: false },
    'System.Ref/1.0.0': { type: 'reference', serviceable: false },
    'bad key without version': { type: 'package' },
  },
};

test('deps.json: packages with runtime assets, the app and its projects, the runtime pack; compile-only and reference libraries left out', async () => {
  const r = await analyzeEntries([{ name: 'app/CoverageApp.deps.json', content: JSON.stringify(depsJson, null, 2) }]);
  assert.deepEqual(namesAt(r, 'app/CoverageApp.deps.json'), [
    'CoverageApp@1.0.0',
    'Lib.Project@2.0.0',
    'Microsoft.NETCore.App.Runtime.linux-x64@8.0.1',
    'Native.Thing@3.1.0',
    'Newtonsoft.Json@12.0.1',
    'Not.In.Target@1.0.0',
  ]);
  const set = r.applications[0]!;
  assert.equal(set.analyzer, 'dotnet-core');
  assert.equal(set.packages.find((p) => p.name === 'CoverageApp')?.purl, 'pkg:nuget/CoverageApp@1.0.0');
  assert.deepEqual(
    r.warnings.map((w) => w.message),
    ['library key is not "name/version"; skipped (e.g. "bad key without version")'],
  );
  // without the runtime target every package and project library is kept
  const bare = await analyzeEntries([{ name: 'x.deps.json', content: JSON.stringify({ libraries: depsJson.libraries }) }]);
  assert.equal(namesAt(bare, 'x.deps.json').length, 7);
});

test('packages.lock.json: resolved packages of every target framework, once; project references left out', async () => {
  const lock = {
    version: 1,
    dependencies: {
      'net6.0': {
        'Newtonsoft.Json': { type: 'Direct', requested: '[13.0.1, )', resolved: '13.0.1', contentHash: 'x' },
        'System.Text.Json': { type: 'Transitive', resolved: '6.0.0' },
        'My.Other.Project': { type: 'Project', dependencies: {} },
      },
      'net8.0': { 'Newtonsoft.Json': { type: 'Direct', requested: '[13.0.1, )', resolved: '13.0.1' }, 'Bad Name!': { type: 'Direct', resolved: '1.0' } },
    },
  };
  const r = await analyzeEntries([{ name: 'src/app/packages.lock.json', content: JSON.stringify(lock) }]);
  assert.deepEqual(namesAt(r, 'src/app/packages.lock.json'), ['Newtonsoft.Json@13.0.1', 'System.Text.Json@6.0.0']);
  assert.equal(r.applications[0]?.analyzer, 'nuget');
  assert.equal(r.warnings.length, 1);
});

test('packages.config: <package> elements, comments and development dependencies left out, entities decoded, bad ones warned once', async () => {
  const xml = `<?xml version="1.0" encoding="utf-8"?>
<packages>
  <!-- <package id="Commented.Out" version="1.0.0" /> -->
  <package id="Newtonsoft.Json" version="12.0.1" targetFramework="net45" />
  <package version='4.5.0' id='jQuery' />
  <package id="Dev.Tool" version="2.0.0" developmentDependency="true" />
  <package id="../../evil" version="1.0" />
  <package id="Amp&amp;Name" version="1.0" />
  <packageSource id="not.a.package" version="9" />
</packages>`;
  const r = await analyzeEntries([{ name: 'site/packages.config', content: xml }]);
  assert.deepEqual(namesAt(r, 'site/packages.config'), ['Newtonsoft.Json@12.0.1', 'jQuery@4.5.0']);
  assert.equal(r.warnings.length, 1, r.warnings.map((w) => w.message).join('\n'));
  assert.match(r.warnings[0]!.message, /^2 records: name is not a valid NuGet name/);
});
