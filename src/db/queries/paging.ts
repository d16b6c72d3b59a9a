// Keyset pages for the admin API's lists (src/admin/): rows after a position in (created_at, id)
// order, which stays stable while rows are added (an offset would skip or repeat rows).

export interface PagePosition {
  createdAt: Date;
  id: string;
}

/** The Prisma `where` for "after this position" on a model with createdAt and a string id. */
export function afterPosition(after: PagePosition) {
  return {
    OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }],
  };
}
