// Tests build page tables with the library's own builder.
export * from "../../src/mmu/page-table-builder.ts";
