// Server-rendered pages from views/*.html. Every {{name}} is replaced by its value, HTML-escaped,
// so a page can never carry markup from input.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));
const cache = new Map<string, string>();

export function renderView(name: string, values: Record<string, string>): string {
  let template = cache.get(name);
  if (template === undefined) {
    template = readFileSync(`${VIEWS_DIR}${name}.html`, 'utf8');
    cache.set(name, template);
  }
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => escapeHtml(values[key] ?? ''));
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
