// Rules for how Tessera's modules may depend on each other (checked by `npm run lint` and by
// test/unit/architecture.test.ts). The Prisma client in src/db/generated is generated code
// with cycles of its own, so it is left out.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle makes load order matter and hides which module owns what.',
      severity: 'error',
      from: { pathNot: '^src/db/generated/' },
      to: { circular: true },
    },
    {
      name: 'config-is-a-leaf',
      comment: 'config/ parses the environment into values; it depends on nothing else of Tessera.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/config/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/db/generated/' },
  },
};
