/**
 * Checks a parsed JSON value against the subset of JSON Schema that agent schemas use: `type`
 * (one name or a list), `enum`, `const`, `properties`, `required`, `additionalProperties: false`,
 * `items`, `minItems`, `maxItems`, `minLength` and `maxLength`.
 * NOTE: other keywords (`$ref`, `oneOf`, `pattern`, numeric bounds, ...) are ignored, so a
 * schema that relies on them accepts more than the node was instructed to produce.
 */
export function findSchemaViolation(value: unknown, schema: unknown, path = '$'): string | null {
  if (!isRecord(schema)) return null;

  const types = schema.type === undefined ? [] : [schema.type].flat();
  if (types.length > 0 && !types.some((type) => matchesType(value, type))) {
    return `${path} should be ${types.join(' or ')}, got ${describeType(value)}`;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => deepEqual(option, value))) {
    return `${path} should be one of ${JSON.stringify(schema.enum)}`;
  }
  if ('const' in schema && !deepEqual(schema.const, value)) {
    return `${path} should be ${JSON.stringify(schema.const)}`;
  }
  if (typeof value === 'string') return checkString(value, schema, path);
  if (Array.isArray(value)) return checkArray(value, schema, path);
  if (isRecord(value)) return checkObject(value, schema, path);
  return null;
}

function checkString(value: string, schema: Record<string, unknown>, path: string): string | null {
  if (typeof schema.minLength === 'number' && value.length < schema.minLength) {
    return `${path} should have at least ${schema.minLength} characters`;
  }
  if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) {
    return `${path} should have at most ${schema.maxLength} characters`;
  }
  return null;
}

function checkArray(value: unknown[], schema: Record<string, unknown>, path: string): string | null {
  if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
    return `${path} should have at least ${schema.minItems} items`;
  }
  if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
    return `${path} should have at most ${schema.maxItems} items`;
  }
  if (!isRecord(schema.items)) return null;
  for (const [index, item] of value.entries()) {
    const violation = findSchemaViolation(item, schema.items, `${path}[${index}]`);
    if (violation) return violation;
  }
  return null;
}

function checkObject(
  value: Record<string, unknown>,
  schema: Record<string, unknown>,
  path: string,
): string | null {
  const properties = isRecord(schema.properties) ? schema.properties : {};
  if (Array.isArray(schema.required)) {
    for (const key of schema.required) {
      if (typeof key === 'string' && !Object.prototype.hasOwnProperty.call(value, key)) {
        return `${path}.${key} is required`;
      }
    }
  }
  for (const [key, item] of Object.entries(value)) {
    if (Object.prototype.hasOwnProperty.call(properties, key)) {
      const violation = findSchemaViolation(item, properties[key], `${path}.${key}`);
      if (violation) return violation;
    } else if (schema.additionalProperties === false) {
      return `${path}.${key} is not allowed`;
    }
  }
  return null;
}

function matchesType(value: unknown, type: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
    default:
      return true;
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
