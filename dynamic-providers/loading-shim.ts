import type * as pulumi from "@pulumi/pulumi";

type Props = Record<string, any>;

/**
 * The provider Pulumi serializes into each resource's state: a shim that loads
 * the implementation by package name (@kvm-cloud/dynamic-providers, an npm
 * workspace of the project) in the dynamic-provider host at each run. State
 * then carries a few hundred bytes instead of the implementation, and a fixed
 * bug reaches resources made before the fix (code frozen into state never
 * would). The serializer captures `file` and `name` by value and nothing else:
 * everything the shim uses is inside it.
 */
export function loadingShim(file: string, name: string): pulumi.dynamic.ResourceProvider {
  const implementation = (): pulumi.dynamic.ResourceProvider => {
    // The host runs plain Node: TypeScript is compiled on load, as the program is.
    if (!require.extensions[".ts"]) {
      require("ts-node").register({ transpileOnly: true, compilerOptions: { module: "commonjs" } });
    }
    return require(`@kvm-cloud/dynamic-providers/${file}`)[name];
  };
  return {
    check: (olds: Props, news: Props) => implementation().check!(olds, news),
    diff: (id: string, olds: Props, news: Props) => implementation().diff!(id, olds, news),
    create: (inputs: Props) => implementation().create(inputs),
    read: (id: string, props: Props) => implementation().read!(id, props),
    update: (id: string, olds: Props, news: Props) => implementation().update!(id, olds, news),
    delete: (id: string, props: Props) => implementation().delete!(id, props),
  };
}
