/** The two message catalogues and the current language, kept in localStorage. */
import { en, type MessageKey } from './en.ts';
import { zh } from './zh.ts';

export type Language = 'en' | 'zh-CN';
export const LANGUAGES: { code: Language; name: string }[] = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '简体中文' },
];

const CATALOGUES: Record<Language, Record<MessageKey, string>> = { en, 'zh-CN': zh };
const STORAGE_KEY = 'lilnet.language';
const listeners: (() => void)[] = [];

let current: Language =
  (localStorage.getItem(STORAGE_KEY) as Language | null) ??
  (navigator.language.startsWith('zh') ? 'zh-CN' : 'en');
if (!CATALOGUES[current]) current = 'en';

export function language(): Language {
  return current;
}

export function setLanguage(next: Language): void {
  current = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  for (const listener of listeners) listener();
}

/** Calls `listener` after every language change. */
export function onLanguageChange(listener: () => void): void {
  listeners.push(listener);
}

/** Returns the message of `key` in the current language with `{name}` placeholders filled. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const template = CATALOGUES[current][key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (_match, name: string) => String(params[name] ?? `{${name}}`));
}

export type { MessageKey };
