import { getMetadataStorage, ValidationTypes, type ValidationArguments } from 'class-validator';

type Metadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];
type Constraint = (value: unknown, object: object) => boolean;
type Class = abstract new (...args: never[]) => object;
type PlanOf = (cls: Class) => (object: object) => boolean;

/** Answers false for every object: class-validator decides (a rule this check does not model). */
const UNSURE = (): boolean => false;

/**
 * A yes/no answer to "would class-validator's `validateSync(object, { forbidUnknownValues:
 * false })` find nothing?", read from class-validator's own metadata and run with its own
 * constraint instances, but without what a validateSync call costs per object (the metadata
 * search across every decorated class, grouping by property, an error object per property):
 * about half of what parsing a well-formed order cost (docs/PERFORMANCE.md).
 *
 * `true` means every constraint of every property (and of every nested object) passed, so
 * validateSync would report nothing. `false` means "not known to be valid": the caller runs
 * validateSync, which remains the one source of the error list. Any decorator this check does
 * not model (conditional, whitelist, promise, `each` on a constraint, async constraints)
 * makes it answer false for the whole class, so a new decorator can slow the well-formed
 * path down but never let an invalid object through. validity-check.spec.ts holds the two
 * answers equal over generated objects.
 */
export function validityCheck(target: new () => object): (object: object) => boolean {
  const plans = new Map<Class, (object: object) => boolean>();
  const planOf: PlanOf = (cls) => {
    // Nested plans are looked up when an object is checked, so a class nested in itself compiles once.
    let plan = plans.get(cls);
    if (plan === undefined) {
      plan = compile(cls, planOf);
      plans.set(cls, plan);
    }
    return plan;
  };
  planOf(target);
  return (object) => typeof object.constructor === 'function' && planOf(object.constructor as Class)(object);
}

function compile(cls: Class, planOf: PlanOf): (object: object) => boolean {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(cls, '', false, false, undefined);
  const checks: Array<{ property: string; constraint: Constraint }> = [];
  for (const metadata of metadatas) {
    const constraint = constraintOf(metadata, storage, planOf);
    if (constraint === undefined) return UNSURE;
    checks.push({ property: metadata.propertyName, constraint });
  }
  return (object) => {
    const record = object as Record<string, unknown>;
    for (const { property, constraint } of checks) {
      if (!constraint(record[property], object)) return false;
    }
    return true;
  };
}

function constraintOf(
  metadata: Metadata,
  storage: ReturnType<typeof getMetadataStorage>,
  planOf: PlanOf,
): Constraint | undefined {
  if (metadata.type === ValidationTypes.NESTED_VALIDATION) return nested(planOf);
  if (metadata.type !== ValidationTypes.CUSTOM_VALIDATION && metadata.type !== ValidationTypes.IS_DEFINED) {
    return undefined;
  }
  if (metadata.each) return undefined;
  const validators = storage.getTargetValidatorConstraints(metadata.constraintCls);
  if (validators.some((v) => v.async)) return undefined;
  const instances = validators.map((v) => v.instance);
  const { propertyName: property, constraints } = metadata;
  return (value, object) => {
    const args: ValidationArguments = {
      targetName: object.constructor.name,
      property,
      object,
      value,
      constraints,
    };
    for (const instance of instances) {
      if (instance.validate(value, args) !== true) return false;
    }
    return true;
  };
}

/**
 * @ValidateNested as class-validator runs it: undefined passes; the elements of an array or
 * set and the values of a map are each checked the same way (so an empty array inside an
 * array passes); any other object by its own class's plan; null or a primitive fails. An
 * object whose `constructor` is not a function (parsed JSON can carry its own
 * "constructor" key) is left to class-validator: plans are kept per class, and a key read
 * from a message would make that cache grow with every message.
 */
function nested(planOf: PlanOf): Constraint {
  const check = (value: unknown): boolean => {
    if (value === undefined) return true;
    if (Array.isArray(value) || value instanceof Set || value instanceof Map) {
      for (const element of value.values()) if (!check(element)) return false;
      return true;
    }
    if (!(value instanceof Object)) return false;
    const cls: unknown = value.constructor;
    return typeof cls === 'function' && planOf(cls as Class)(value);
  };
  return check;
}
