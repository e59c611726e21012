import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Module boundaries by tag: services, apps and libs import libs only — so libs never import a
// service or an app, and a service never imports another service; the test-only e2e project may
// import services too. Domain libs never import the bus/blobstore adapters; only the wiring libs,
// services and apps wire adapters to the domain.
export default [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/gen/**', '.nx/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          allow: [],
          depConstraints: [
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:service'] },
            { sourceTag: 'layer:base', onlyDependOnLibsWithTags: ['layer:base'] },
            { sourceTag: 'layer:domain', onlyDependOnLibsWithTags: ['layer:base', 'layer:domain'] },
            { sourceTag: 'layer:adapter', onlyDependOnLibsWithTags: ['layer:base', 'layer:adapter'] },
            { sourceTag: 'layer:wiring', onlyDependOnLibsWithTags: ['layer:base', 'layer:domain', 'layer:adapter', 'layer:wiring'] },
          ],
        },
      ],
    },
  },
];
