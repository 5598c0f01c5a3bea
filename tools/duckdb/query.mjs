// query.mjs runs SQL statements with DuckDB and prints the rows of the
// last one as JSON lines (values as DuckDB's JSON conversion gives them:
// big integers and timestamps as strings, maps as arrays of key/value).
// Usage: node query.mjs 'SELECT ...' [more statements run before it]
// A failing statement prints DuckDB's error on stderr and exits 1.
import { DuckDBInstance } from '@duckdb/node-api';

const statements = process.argv.slice(2);
if (statements.length === 0) {
  console.error('usage: node query.mjs SQL...');
  process.exit(2);
}
try {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  let reader;
  for (const sql of statements) {
    reader = await conn.runAndReadAll(sql);
  }
  for (const row of reader.getRowObjectsJson()) {
    process.stdout.write(JSON.stringify(row) + '\n');
  }
} catch (e) {
  console.error(String(e && e.message ? e.message : e));
  process.exit(1);
}
