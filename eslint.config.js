// ESLint flat config: typescript-eslint's type-checked recommended rules over every package, the tests
// and the bench. Types come from the TypeScript project service: each file is checked with the nearest
// tsconfig.json that includes it (the package configs for sources, the root tsconfig.json for tests).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      'node_modules/**',
      'bench/results/**',
      'coverage/**',
      'test/vectors/**',
      'test/depcruise-fixtures/**',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // Plain JavaScript config files are in no tsconfig: lint them without types.
  { files: ['**/*.js', '**/*.cjs', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  {
    // Vitest types its asymmetric matchers (expect.any, expect.objectContaining, expect.stringMatching)
    // as `any` on purpose, so every `toMatchObject({ code: expect.any(String) })` would be an "unsafe
    // assignment". Tests only; the other no-unsafe-* rules still apply there.
    files: ['**/*.test.ts', 'test/**'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  { files: ['bench/**', 'test/**', '**/*.test.ts', '**/cli/**', '**/test-support/**'], rules: { 'no-console': 'off' } },
);
