import type { TokenCredential } from "@azure/core-auth";
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  RestError,
  type TlsSettings,
} from "@azure/core-rest-pipeline";
import { InvalidRequestError, toAzureError } from "./errors.js";

/** A service principal as Microsoft Graph v1.0 returns it (the fields azid reads). */
export interface ServicePrincipal {
  id: string;
  appId: string;
  displayName?: string;
  appRoles?: Array<{ id: string; value?: string; isEnabled?: boolean; allowedMemberTypes?: string[] }>;
}

export interface AppRoleAssignment {
  id: string;
  principalId: string;
  resourceId: string;
  appRoleId: string;
  principalDisplayName?: string;
  resourceDisplayName?: string;
}

export interface GraphClientOptions {
  endpoint: string;
  audience: string;
  credential: TokenCredential;
  tlsOptions?: TlsSettings;
}

/**
 * The few Microsoft Graph calls azid makes: app-role assignments granted directly to a
 * managed identity's service principal (it has no application object to hold them).
 */
export class GraphClient {
  private readonly pipeline: Pipeline;
  private readonly httpClient: HttpClient = createDefaultHttpClient();

  constructor(private readonly options: GraphClientOptions) {
    this.pipeline = createPipelineFromOptions({
      tlsOptions: options.tlsOptions,
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    });
    this.pipeline.addPolicy(
      bearerTokenAuthenticationPolicy({
        credential: options.credential,
        scopes: `${options.audience}/.default`,
      }),
    );
  }

  async getServicePrincipal(id: string): Promise<ServicePrincipal> {
    return this.send<ServicePrincipal>("GET", `/v1.0/servicePrincipals/${encodeURIComponent(id)}`);
  }

  /** The tenant's service principal of an application (e.g. Microsoft Graph's), or undefined. */
  async findServicePrincipalByAppId(appId: string): Promise<ServicePrincipal | undefined> {
    const filter = encodeURIComponent(`appId eq '${appId.replace(/'/g, "''")}'`);
    const page = await this.send<{ value: ServicePrincipal[] }>(
      "GET",
      `/v1.0/servicePrincipals?$filter=${filter}`,
    );
    return page.value[0];
  }

  async listAppRoleAssignments(principalId: string): Promise<AppRoleAssignment[]> {
    const results: AppRoleAssignment[] = [];
    let path: string | undefined =
      `/v1.0/servicePrincipals/${encodeURIComponent(principalId)}/appRoleAssignments`;
    while (path) {
      const page: { value: AppRoleAssignment[]; "@odata.nextLink"?: string } = await this.send("GET", path);
      results.push(...page.value);
      path = page["@odata.nextLink"];
    }
    return results;
  }

  async createAppRoleAssignment(
    principalId: string,
    assignment: { resourceId: string; appRoleId: string },
  ): Promise<AppRoleAssignment> {
    return this.send<AppRoleAssignment>(
      "POST",
      `/v1.0/servicePrincipals/${encodeURIComponent(principalId)}/appRoleAssignments`,
      { principalId, ...assignment },
    );
  }

  async deleteAppRoleAssignment(principalId: string, assignmentId: string): Promise<void> {
    await this.send(
      "DELETE",
      `/v1.0/servicePrincipals/${encodeURIComponent(principalId)}/appRoleAssignments/${encodeURIComponent(assignmentId)}`,
    );
  }

  private async send<T>(method: "GET" | "POST" | "DELETE", pathOrUrl: string, body?: unknown): Promise<T> {
    const url = pathOrUrl.startsWith("/") ? `${this.options.endpoint}${pathOrUrl}` : pathOrUrl;
    // A nextLink is followed only to Graph itself: the bearer token must not travel elsewhere.
    if (!url.startsWith(`${this.options.endpoint}/`)) {
      // No retry makes such a link safe: judged like a request Azure refuses (recheck in 30 min).
      throw new InvalidRequestError(`refusing to follow ${url} outside Graph`, "NextLinkOutsideGraph", 0);
    }
    const request = createPipelineRequest({
      url,
      method,
      headers: createHttpHeaders({ accept: "application/json", "content-type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    try {
      const response = await this.pipeline.sendRequest(this.httpClient, request);
      const parsed = response.bodyAsText ? (JSON.parse(response.bodyAsText) as unknown) : undefined;
      if (response.status >= 400) {
        throw new RestError(`Graph ${method} ${new URL(url).pathname} answered ${response.status}`, {
          statusCode: response.status,
          request,
          response,
        });
      }
      return parsed as T;
    } catch (error) {
      throw toAzureError(error);
    }
  }
}
