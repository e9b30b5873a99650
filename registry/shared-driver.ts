/**
 * One database connection shared by several stores of a process (the customer registry and the
 * account store in the same DuckDB file, which one process may open once): opened at the first
 * `open`, closed at the last `close`.
 */
import type { SqlDriver } from "./sql-registry.js";

export function shareDriver(driver: SqlDriver): SqlDriver {
  let users = 0;
  let opening: Promise<void> | undefined;
  return {
    name: driver.name,
    async open() {
      users += 1;
      if (users === 1) opening = driver.open();
      try {
        await opening;
      } catch (e) {
        users -= 1;
        throw e;
      }
    },
    async close() {
      if (users === 0) return;
      users -= 1;
      if (users === 0) await driver.close();
    },
    transaction: (kind, fn) => driver.transaction(kind, fn),
    ...(driver.announce === undefined
      ? {}
      : { announce: driver.announce.bind(driver) as NonNullable<SqlDriver["announce"]> }),
    ...(driver.writeScript === undefined
      ? {}
      : {
          writeScript: driver.writeScript.bind(driver) as NonNullable<SqlDriver["writeScript"]>,
        }),
    ...(driver.follow === undefined
      ? {}
      : { follow: driver.follow.bind(driver) as NonNullable<SqlDriver["follow"]> }),
  };
}
