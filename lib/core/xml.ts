import { XMLBuilder, XMLParser } from "fast-xml-parser";

/**
 * One XML dialect for all libvirt documents: attributes prefixed with "@_",
 * text as "#text". Built and parsed by fast-xml-parser so that escaping is
 * never done by hand.
 */
const OPTIONS = {
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  textNodeName: "#text",
} as const;

export type XmlNode = { [key: string]: XmlValue };
export type XmlValue = string | number | boolean | XmlNode | XmlNode[] | undefined;

export function buildXml(doc: XmlNode): string {
  const builder = new XMLBuilder({ ...OPTIONS, format: true, indentBy: "  ", suppressEmptyNode: true, suppressBooleanAttributes: false });
  return builder.build(doc) as string;
}

export function parseXml(text: string): XmlNode {
  const parser = new XMLParser({ ...OPTIONS, parseAttributeValue: false, parseTagValue: false, trimValues: true });
  return parser.parse(text) as XmlNode;
}

/** Always an array, for elements that may appear once or many times. */
export function asArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
