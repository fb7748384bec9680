// The remediation benchmark with a Key Vault per 50 identities (issue 14): the same repair, and
// the vaults' tenant and entries, against the floor of all the writes (bench/remediation.ts).
//
//   npm run bench -- remediation-keyvault   (the same variables as remediation)
process.env.REMEDIATION_IDENTITIES_PER_VAULT ??= "50";
// The sequential baseline knows nothing of vaults: the figure here is the ratio to the floor.
process.env.REMEDIATION_BASELINE ??= "off";
await import("./remediation.js");
