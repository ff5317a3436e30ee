import type { ColumnDefinitionBuilder } from 'kysely';

/** The dialect quirks a migration needs; everything else is written once. */
export interface DialectQuirks {
  name: 'sqlite' | 'postgres';
  binaryType: 'blob' | 'bytea';
  autoIdColumn: (b: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}
