// Reading a packaged CloudFormation template in tests, without deploying it.

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/**
 * An ARN expression as text: `${AWS::Region}` for pseudo parameters, `${Logical.Arn}` for
 * GetAtt, `${Logical}` for Ref, so that scoping can be checked without deploying.
 */
export function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return JSON.stringify(value);
  const sub = value['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  const join = value['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return join[1].map(render).join(join[0]);
  const ref = value['Ref'];
  if (typeof ref === 'string') return `\${${ref}}`;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return `\${${getAtt.join('.')}}`;
  return JSON.stringify(value);
}
