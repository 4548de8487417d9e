import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ApiRouter } from '../../api';
import { notFound } from '../../../errors';

/** The pages' CSS and script, and the chart library from its package: served by the gateway itself, no CDN. */

const uplotDir = join(dirname(require.resolve('uplot/package.json')), 'dist');

const FILES: Record<string, { path: string; type: string }> = {
  'admin.css': { path: join(__dirname, 'assets/admin.css'), type: 'text/css; charset=utf-8' },
  'admin.js': { path: join(__dirname, 'assets/admin.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': { path: join(uplotDir, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: join(uplotDir, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

export function assetRoutes(api: ApiRouter): void {
  const cache = new Map<string, Buffer>();
  api.route(
    {
      method: 'get',
      path: '/admin/assets/:file',
      summary: 'The admin pages’ CSS, script and chart library',
      tag: 'admin pages',
      auth: 'none',
      hidden: true,
      responses: { 200: { description: 'The file' } },
    },
    async (ctx) => {
      const f = Object.hasOwn(FILES, ctx.params.file) ? FILES[ctx.params.file] : undefined;
      if (!f) throw notFound('asset');
      let body = cache.get(ctx.params.file);
      if (!body) cache.set(ctx.params.file, (body = readFileSync(f.path)));
      ctx.type = f.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.set('X-Content-Type-Options', 'nosniff');
      ctx.body = body;
    },
  );
}
