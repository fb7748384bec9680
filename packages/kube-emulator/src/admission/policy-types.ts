// admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
// as they are stored (defaults applied), for the code that reads them.
import type { ObjectMeta } from "../objects.js";

export const ADMISSION_GROUP = "admissionregistration.k8s.io";
export const POLICY_STORE = `${ADMISSION_GROUP}/validatingadmissionpolicies`;
export const BINDING_STORE = `${ADMISSION_GROUP}/validatingadmissionpolicybindings`;

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface NamedRuleWithOperations extends RuleWithOperations {
  resourceNames?: string[];
}

export interface MatchResources {
  namespaceSelector?: LabelSelectorObject;
  objectSelector?: LabelSelectorObject;
  resourceRules?: NamedRuleWithOperations[];
  excludeResourceRules?: NamedRuleWithOperations[];
  matchPolicy?: "Exact" | "Equivalent";
}

export interface ParamKind {
  apiVersion?: string;
  kind?: string;
}

export interface Validation {
  expression: string;
  message?: string;
  reason?: string;
  messageExpression?: string;
}

export interface AuditAnnotation {
  key: string;
  valueExpression: string;
}

export interface NamedExpression {
  name: string;
  expression: string;
}

export interface PolicySpec {
  paramKind?: ParamKind;
  matchConstraints?: MatchResources;
  validations?: Validation[];
  failurePolicy?: "Fail" | "Ignore";
  auditAnnotations?: AuditAnnotation[];
  matchConditions?: NamedExpression[];
  variables?: NamedExpression[];
}

export interface ValidatingAdmissionPolicy {
  metadata: ObjectMeta & { name: string };
  spec: PolicySpec;
  status?: { observedGeneration?: number };
}

export interface ParamRef {
  name?: string;
  namespace?: string;
  selector?: LabelSelectorObject;
  parameterNotFoundAction?: "Allow" | "Deny";
}

export type ValidationAction = "Deny" | "Warn" | "Audit";

export interface BindingSpec {
  policyName?: string;
  paramRef?: ParamRef;
  matchResources?: MatchResources;
  validationActions?: ValidationAction[];
}

export interface ValidatingAdmissionPolicyBinding {
  metadata: ObjectMeta & { name: string };
  spec: BindingSpec;
}
