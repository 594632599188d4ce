// The engine's floor: a Pulumi program that declares nothing, run by the same
// CLI, language host and backend as the kanade fleet. Everything `pulumi
// preview` or `up` spends here is the cost of Pulumi itself.
export default async () => ({});
