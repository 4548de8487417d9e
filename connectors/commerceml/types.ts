import type { Kopecks } from '../../gateway/domain/money';
import type { VatCode } from '../../gateway/domain/order';

/** CommerceML versions seen in the wild for orders; the gateway writes 2.05 by default. */
export const CML_VERSIONS = ['2.03', '2.04', '2.05', '2.06', '2.07', '2.08', '2.09', '2.10'] as const;
export type CmlVersion = (typeof CML_VERSIONS)[number];

export type CmlEncoding = 'windows-1251' | 'utf-8';

/** A site order as `mode=query` writes it for 1C (site → 1C). Money in kopecks; written in rubles. */
export interface ExportOrder {
  /** The site's id of the order (`Ид`). */
  id: string;
  number: string;
  /** When the order was made (ISO 8601); written as the base's local date and time. */
  createdAt: string;
  total: Kopecks;
  comment?: string;
  customer: {
    /** A stable id of the buyer for 1C (`Контрагент/Ид`). */
    id: string;
    type: 'individual' | 'legal';
    name: string;
    inn?: string;
    kpp?: string;
    email?: string;
    phone?: string;
    address?: string;
  };
  items: {
    /** The 1C item GUID where the site knows it, else the site's code (`Товар/Ид`). */
    id: string;
    name: string;
    quantity: number;
    price: Kopecks;
    amount: Kopecks;
    vat: VatCode;
    kind: 'goods' | 'service';
    /** The delivery line is written with `Ид` ORDER_DELIVERY, as 1C's loader expects. */
    delivery?: boolean;
  }[];
  /** `ЗначенияРеквизитов` of the document, in the exact spelling 1C's loader reads. */
  requisites: {
    paymentMethod: string;
    paymentMethodId?: string;
    /**
     * «Заказ оплачен». Undefined leaves it out, with `paidAt` and `paymentDocumentNumber` (and 2.09's
     * `Оплаты`): what makes УТ and УНФ create a payment document of their own.
     */
    paid?: boolean;
    paidAt?: string;
    paymentDocumentNumber?: string;
    status: string;
    statusId: string;
    statusChangedAt?: string;
    cancelled: boolean;
    cancelledAt?: string;
    cancelReason?: string;
    deliveryAllowed?: boolean;
    site?: string;
  };
}

export interface WriteOptions {
  version: CmlVersion;
  encoding: CmlEncoding;
  generatedAt: Date;
  /** IANA zone for dates and times (1C's are local, without a zone). */
  timeZone: string;
}

/** One `Документ` as 1C uploaded it (1C → site), read leniently. */
export interface ImportedDocument {
  /** `Ид`: the site's id in some set-ups, 1C's GUID in others. */
  id: string;
  number: string;
  /** `Номер1С` / "Номер по 1С" when present. */
  number1C?: string;
  /** `Дата` + `Время`, ISO-like local date-time as written (`T` and empty dates → undefined). */
  date?: string;
  /** `ХозОперация`: "Заказ товара", "Выплата безналичных денег", "Эквайринговая операция", "Отпуск товара", ... */
  operation: string;
  role?: string;
  currency?: string;
  /** `Сумма` in kopecks. */
  total?: Kopecks;
  comment?: string;
  /** `ПометкаУдаления` element or requisite. */
  deleted: boolean;
  customer?: { id?: string; name: string; fullName?: string; inn?: string; kpp?: string; email?: string; phone?: string };
  items: {
    id: string;
    name: string;
    quantity: number;
    /** From `ЦенаЗаЕдиницу`, or `Цена`. */
    price: Kopecks;
    amount: Kopecks;
    /** The VAT rate as written ("22", "20", "Без налога"...), when present. */
    vatRate?: string;
    kind?: 'goods' | 'service';
  }[];
  /** Every `ЗначениеРеквизита` (with or without the `ЗначенияРеквизитов` wrapper): name → value, as written. */
  requisites: Record<string, string>;
  /** 2.09's document-level `Оплаты/Оплата`. */
  payments: { number?: string; transaction?: string; date?: string; amount?: Kopecks; method?: string }[];
  /** 2.10's `ПодчиненныеДокументы/ПодчиненныйДокумент`, read like documents. */
  subordinates: ImportedDocument[];
  /** `Основание`: the order a Bitrix-style payment or shipment document belongs to. */
  basis?: string;
}

/** Why a file was refused: `failure\n<text>` to 1C. */
export class CmlError extends Error {
  /** Russian, for the 1C operator. */
  readonly text: string;
  constructor(text: string, internal?: string) {
    super(internal ?? text);
    this.name = 'CmlError';
    this.text = text;
  }
}
