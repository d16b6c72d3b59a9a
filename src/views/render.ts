// Server-rendered pages: Eta templates in views/, HTML-escaped by default (<%= %>), inside one
// layout. The brand (product name, logo) comes from configuration.
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';

export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

export interface Brand {
  name: string;
  logoUrl: string | undefined;
}

const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: false });

export function renderView(name: string, brand: Brand, data: Record<string, unknown>): string {
  return eta.render(name, { ...data, brand });
}
