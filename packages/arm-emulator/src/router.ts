// Path templates in ARM's own notation: `{name}` is one segment, `{*name}` any number (maybe none).
// The template doubles as the operation's name in the stats.

export interface Route<H> {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  handler: H;
}

export function compileRoute<H>(method: string, template: string, handler: H): Route<H> {
  const names: string[] = [];
  const source = template
    .split("/")
    .slice(1)
    .map((segment) => {
      const wildcard = /^\{\*(\w+)\}$/.exec(segment);
      if (wildcard) {
        names.push(wildcard[1]!);
        return "(.*?)";
      }
      // `{name}` is a whole segment or a part of one (`servicePrincipals(appId='{appId}')`).
      const pieces = segment.split(/\{(\w+)\}/);
      return `/${pieces
        .map((piece, i) => {
          if (i % 2 === 0) return piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(piece);
          return pieces.length === 3 && pieces[0] === "" && pieces[2] === "" ? "([^/]+)" : "([^/]+?)";
        })
        .join("")}`;
    })
    .join("");
  return { method, template, regex: new RegExp(`^${source}$`, "i"), names, handler };
}

export type RouteMatch<H> =
  | { kind: "found"; route: Route<H>; params: Record<string, string> }
  | { kind: "methodNotAllowed"; template: string }
  | { kind: "notFound" };

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, template: string, handler: H): this {
    this.routes.push(compileRoute(method, template, handler));
    return this;
  }

  match(method: string, path: string): RouteMatch<H> {
    let pathMatched: string | undefined;
    for (const route of this.routes) {
      const m = route.regex.exec(path);
      if (!m) continue;
      if (route.method !== method && !(method === "HEAD" && route.method === "GET")) {
        pathMatched ??= route.template;
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = m[i + 1] ?? "";
      });
      return { kind: "found", route, params };
    }
    return pathMatched ? { kind: "methodNotAllowed", template: pathMatched } : { kind: "notFound" };
  }
}
