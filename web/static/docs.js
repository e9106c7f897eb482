// docs.js - a readable API reference, rendered from /api/openapi.json.
import { h } from './api.js';

const root = document.getElementById('docs');

function schemaText(schema, doc) {
  if (!schema) return '';
  if (schema.$ref) return schema.$ref.split('/').pop();
  if (schema.type === 'array') return `array of ${schemaText(schema.items, doc)}`;
  return schema.type || 'any';
}

function example(name, doc, depth = 0) {
  const schema = doc.components.schemas[name];
  if (!schema || depth > 2) return null;
  if (!schema.properties) return schema.description || schema.type;
  const out = {};
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (prop.$ref) out[key] = example(prop.$ref.split('/').pop(), doc, depth + 1);
    else if (prop.type === 'array') out[key] = [];
    else out[key] = prop.type === 'string' ? (prop.format || 'string') + (prop.nullable ? ' | null' : '')
                  : prop.type || 'any';
  }
  return out;
}

function operation(path, method, op, doc) {
  const rows = [];
  for (const p of op.parameters || [])
    rows.push(h('tr', {}, h('td', {}, p.name), h('td', {}, `${p.in}, ${p.schema.type}`),
                h('td', {}, p.description || (p.required ? 'required' : ''))));
  const body = op.requestBody && op.requestBody.content['application/json'];
  const responses = Object.entries(op.responses).map(([code, r]) => {
    const content = r.content && Object.values(r.content)[0];
    return h('tr', {}, h('td', {}, code), h('td', {}, r.description),
             h('td', {}, content ? schemaText(content.schema, doc) : ''));
  });
  const bodyName = body && body.schema.$ref && body.schema.$ref.split('/').pop();
  return h('section', { class: 'op', id: op.operationId },
    h('h3', {}, h('span', { class: `method ${method}` }, method.toUpperCase()), ' ', path),
    h('p', {}, op.summary),
    rows.length ? h('table', {}, h('tr', {}, h('th', {}, 'Parameter'), h('th', {}, 'Where'),
                                   h('th', {}, '')), rows) : null,
    bodyName ? h('div', {}, h('strong', {}, 'Body: '), bodyName,
                 h('pre', {}, JSON.stringify(example(bodyName, doc), null, 2))) : null,
    h('table', {}, h('tr', {}, h('th', {}, 'Status'), h('th', {}, 'Meaning'),
                     h('th', {}, 'Returns')), responses));
}

async function main() {
  const doc = await (await fetch('/api/openapi.json')).json();
  const parts = [h('h1', {}, `${doc.info.title} API `, h('small', { class: 'muted' }, doc.info.version)),
                 h('p', {}, doc.info.description)];
  for (const [path, item] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(item)) parts.push(operation(path, method, op, doc));
  parts.push(h('h2', {}, 'Schemas'));
  for (const name of Object.keys(doc.components.schemas))
    parts.push(h('section', { class: 'op', id: `schema-${name}` }, h('h3', {}, name),
                 h('pre', {}, JSON.stringify(doc.components.schemas[name], null, 2))));
  root.replaceChildren(...parts);
}

main().catch((err) => {
  root.replaceChildren(h('p', { class: 'error', role: 'alert' },
                         `Could not load the API description: ${err.message}`));
});
