import { check } from "./errors";

/**
 * What every nftables table of kvm-cloud's own starts with: declared, deleted
 * and defined again in one `nft -f` transaction, so applying the file twice
 * changes nothing and never touches another table.
 */
export function tablePreamble(family: "ip" | "inet", table: string): string[] {
  check(/^[a-z][a-z0-9_]{0,30}$/.test(table), "table", table, "an nftables table name of [a-z0-9_] starting with a letter");
  return ["# Rendered by kvm-cloud; applied as one transaction with nft -f.", `table ${family} ${table}`, `delete table ${family} ${table}`];
}
