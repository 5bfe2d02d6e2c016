// English and Chinese; the choice is kept in localStorage ("fvce.lang"), otherwise the
// browser's language decides.

import i18next from 'i18next';
import { useEffect, useState } from 'preact/hooks';
import en from '../locales/en';
import zhCN from '../locales/zh-CN';

export const languages = [
  { code: 'en', label: 'English' },
  { code: 'zh-CN', label: '中文' },
] as const;

const storageKey = 'fvce.lang';

function initialLanguage(): string {
  try {
    const saved = localStorage.getItem(storageKey);
    if (saved && languages.some((l) => l.code === saved)) return saved;
  } catch {
    /* storage disabled */
  }
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

void i18next.init({
  resources: { en: { translation: en }, 'zh-CN': { translation: zhCN } },
  lng: initialLanguage(),
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
  returnNull: false,
  initAsync: false,
});
document.documentElement.lang = i18next.language;

export function setLanguage(code: string): void {
  try {
    localStorage.setItem(storageKey, code);
  } catch {
    /* storage disabled */
  }
  void i18next.changeLanguage(code);
  document.documentElement.lang = code;
}

export type T = (key: string, options?: Record<string, unknown>) => string;

/** The translation function; the component renders again when the language changes. */
export function useT(): T {
  const [, setLng] = useState(i18next.language);
  useEffect(() => {
    const on = (lng: string) => setLng(lng);
    i18next.on('languageChanged', on);
    return () => i18next.off('languageChanged', on);
  }, []);
  return (key, options) => String(i18next.t(key, options ?? {}));
}

export default i18next;
